## Shared helpers of the R reference scripts in tests/reference/<case>/ref.R.
## A case's ref.R runs inside its folder and starts with  source("../common.R").
## tests/reference/regenerate.sh reruns every case and records the R and package versions
## (tests/reference/<case>/versions.txt).
##
## Packages are used through their namespace (pkg::fun), never attached, so that a script loads
## only what it uses: yaml (plan_spec), sandwich (se: HC3), lme4 + lmerTest (model: mixed).
##
## Definitions follow CONTRACT.md section 3:
##   linear : per outcome x follow-up x moderator, OLS  y_t ~ treat*mod + baseline
##            (the baseline enters once when it is the moderator), complete cases;
##            b3 = treat:mod, t on residual df; se HC3 = sandwich::vcovHC(type = "HC3").
##   binary : the same terms in a logistic regression (glm, epsilon = 1e-14), SE from the
##            inverse information at the estimate, Wald z CI and p; a binary outcome's baseline
##            is coded like the outcome (1 = the event value, 0 = the other).
##   mixed  : per outcome x moderator, lmerTest::lmer(y ~ time*treat*mod + baseline + (1|id),
##            REML), time a factor (plan order); the treat x mod contrast at each follow-up
##            via contest1D (Satterthwaite df), CI = est +/- qt(0.975, df) * SE.
##   categorical moderator: k-1 rows (non-reference levels) + `joint` row: Wald test of the
##            k-1 interaction terms (linear: F on residual df with the model's vcov, equal to
##            the nested-model F test when se is classical; logistic: chi-square;
##            mixed: lmerTest::contestMD F test with Satterthwaite denominator df).
options(warn = 1, stringsAsFactors = FALSE)

RESULT_COLUMNS <- c("outcome", "timepoint", "moderator", "term", "model", "estimate",
                    "std_error", "ci_low", "ci_high", "p_value", "p_adjusted", "n", "tier")
CI_LEVEL <- 0.95
EVIDENCE <- 0.05
EXPLORATORY <- 0.20

read_data <- function(path = "data.csv") {
  read.csv(path, stringsAsFactors = FALSE, check.names = FALSE,
           na.strings = c("", "NA"), strip.white = FALSE)
}

as_key <- function(x) ifelse(is.na(x), NA_character_, as.character(x))

## rows of the two arms; .treat = 1 treated, 0 control; .id = participant id
select_arms <- function(d, spec) {
  v <- as_key(d[[spec$treatment]])
  keep <- !is.na(v) & v %in% c(as.character(spec$treated), as.character(spec$control))
  d <- d[keep, , drop = FALSE]
  d$.treat <- as.integer(as_key(d[[spec$treatment]]) == as.character(spec$treated))
  d$.id <- d[[spec$id]]
  d
}


## coded moderator: continuous as is; binary 1 = non-reference level; categorical factor
code_moderator <- function(x, mod) {
  if (mod$type == "continuous") return(list(x = as.numeric(x), levels = NULL))
  xs <- as_key(x)
  lev <- sort(unique(xs[!is.na(xs)]))
  ref <- as.character(mod$reference)
  if (!(ref %in% lev)) stop("reference level not in data: ", mod$name)
  if (mod$type == "binary") {
    if (length(lev) != 2) stop("binary moderator without exactly 2 levels: ", mod$name)
    return(list(x = as.integer(xs != ref), levels = lev))
  }
  levs <- c(ref, setdiff(lev, ref))
  list(x = factor(xs, levels = levs), levels = levs)
}

code_outcome <- function(y, out) {
  if (out$type == "continuous") {
    y <- as.numeric(y)
    if (!is.null(out$range)) stopifnot(all(is.na(y) | (y >= out$range[1] & y <= out$range[2])))
    return(y)
  }
  ys <- as_key(y)
  ev <- if (is.null(out$event)) "1" else as.character(out$event)
  stopifnot(length(unique(ys[!is.na(ys)])) == 2, ev %in% ys)
  as.integer(ys == ev)
}

tier_of <- function(p) ifelse(is.na(p), "", ifelse(p < EVIDENCE, "evidence",
                              ifelse(p < EXPLORATORY, "hypothesis-generating", "none")))

row_df <- function(term, est, se, lo, hi, p, n) {
  data.frame(term = term, estimate = est, std_error = se, ci_low = lo, ci_high = hi,
             p_value = p, n = n)
}

## one regression (linear or logistic) for one outcome, follow-up, moderator
fit_single <- function(y, m, b, treat, mod_levels, mod_type, family, se_type) {
  f <- data.frame(Y = y, TR = treat)
  f$M <- m
  if (!is.null(b)) f$B <- b
  f <- f[complete.cases(f), , drop = FALSE]
  form <- if (!is.null(b)) Y ~ TR * M + B else Y ~ TR * M
  if (family == "gaussian") {
    fit <- lm(form, data = f)
  } else {
    fit <- glm(form, data = f, family = binomial(),
               control = glm.control(epsilon = 1e-14, maxit = 100))
    stopifnot(fit$converged)
  }
  b_hat <- coef(fit)
  stopifnot(!anyNA(b_hat))
  V <- if (se_type == "HC3") sandwich::vcovHC(fit, type = "HC3") else vcov(fit)
  if (family == "binomial") {
    # inverse information at the converged estimate (glm's vcov uses the weights of the
    # last IRLS iteration, which can lag by ~1e-8 relative)
    X <- model.matrix(fit)
    pr <- drop(plogis(X %*% b_hat))
    V_mle <- solve(crossprod(X, X * (pr * (1 - pr))))
    stopifnot(max(abs(sqrt(diag(V_mle)) / sqrt(diag(V)) - 1)) < 1e-6)
    V <- V_mle
  }
  cat_mod <- mod_type == "categorical"
  terms <- if (cat_mod) paste0("TR:M", mod_levels[-1]) else "TR:M"
  labels <- if (cat_mod) mod_levels[-1] else ""
  n <- nrow(f)
  rows <- list()
  for (i in seq_along(terms)) {
    est <- unname(b_hat[terms[i]])
    s <- sqrt(V[terms[i], terms[i]])
    if (family == "gaussian") {
      df <- fit$df.residual
      q <- qt(1 - (1 - CI_LEVEL) / 2, df)
      p <- 2 * pt(-abs(est / s), df)
    } else {
      q <- qnorm(1 - (1 - CI_LEVEL) / 2)
      p <- 2 * pnorm(-abs(est / s))
    }
    rows[[i]] <- row_df(labels[i], est, s, est - q * s, est + q * s, p, n)
  }
  if (cat_mod) {
    k <- length(terms)
    bb <- b_hat[terms]
    W <- drop(crossprod(bb, solve(V[terms, terms, drop = FALSE], bb)))
    if (family == "gaussian") {
      p <- pf(W / k, k, fit$df.residual, lower.tail = FALSE)
      if (se_type == "classical") {       # same p as the nested-model F test
        red <- lm(update(form, . ~ . - TR:M), data = f)
        p_nested <- anova(red, fit)[2, "Pr(>F)"]
        stopifnot(abs(p - p_nested) <= 1e-10 + 1e-8 * p)
      }
    } else {
      p <- pchisq(W, k, lower.tail = FALSE)
    }
    rows[[k + 1]] <- row_df("joint", NA, NA, NA, NA, p, n)
  }
  do.call(rbind, rows)
}

## one linear mixed model for one outcome (all follow-ups) and one moderator
fit_mixed <- function(d, followups, m, b, mod_levels, mod_type) {
  base <- data.frame(id = d$.id, TR = d$.treat)
  base$M <- m
  if (!is.null(b)) base$B <- b
  base <- base[complete.cases(base), , drop = FALSE]
  long <- do.call(rbind, lapply(names(followups), function(t) {
    x <- base
    x$time <- t
    x$Y <- as.numeric(d[[followups[[t]]]][match(base$id, d$.id)])
    x
  }))
  long <- long[!is.na(long$Y), , drop = FALSE]
  long$time <- factor(long$time, levels = names(followups))
  long$id <- factor(long$id)
  n <- length(unique(long$id))
  form <- if (!is.null(b)) Y ~ time * TR * M + B + (1 | id) else Y ~ time * TR * M + (1 | id)
  ctrl <- lme4::lmerControl(optimizer = "bobyqa",
                      optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
  fit <- lmerTest::lmer(form, data = long, REML = TRUE, control = ctrl)
  stopifnot(!lme4::isSingular(fit))
  tt <- delete.response(terms(fit))
  beta <- lme4::fixef(fit)
  cat_mod <- mod_type == "categorical"
  # treat x mod difference-in-differences at follow-up t, as an L vector over fixef(fit)
  L_for <- function(t, hi, lo) {
    nd <- data.frame(TR = c(1, 0, 1, 0), B = 0,
                     time = factor(rep(t, 4), levels = levels(long$time)))
    if (cat_mod) {
      nd$M <- factor(c(hi, hi, lo, lo), levels = mod_levels)
    } else {
      nd$M <- c(hi, hi, lo, lo)
    }
    X <- model.matrix(tt, nd)
    stopifnot(identical(colnames(X), names(beta)))
    X[1, ] - X[2, ] - X[3, ] + X[4, ]
  }
  rows <- list()
  for (t in names(followups)) {
    his <- if (cat_mod) mod_levels[-1] else 1
    lo <- if (cat_mod) mod_levels[1] else 0
    Ls <- lapply(his, function(h) L_for(t, h, lo))
    for (i in seq_along(his)) {
      L <- Ls[[i]]
      # the contract's coefficient form: treat:mod (+ time_t:treat:mod when t is not first)
      nm <- paste0("TR:M", if (cat_mod) his[i] else "")
      nm_t <- paste0("time", t, ":TR:M", if (cat_mod) his[i] else "")
      direct <- beta[[nm]] + if (t == names(followups)[1]) 0 else beta[[nm_t]]
      ct <- lmerTest::contest1D(fit, L, ddf = "Satterthwaite")
      est <- ct[["Estimate"]]
      stopifnot(abs(est - direct) <= 1e-10 * max(1, abs(direct)))
      s <- ct[["Std. Error"]]
      df <- ct[["df"]]
      q <- qt(1 - (1 - CI_LEVEL) / 2, df)
      rows[[length(rows) + 1]] <- cbind(timepoint = t,
                                        row_df(if (cat_mod) his[i] else "", est, s,
                                               est - q * s, est + q * s, ct[["Pr(>|t|)"]], n),
                                        df = df)
    }
    if (cat_mod) {
      ct <- lmerTest::contestMD(fit, do.call(rbind, Ls), ddf = "Satterthwaite")
      rows[[length(rows) + 1]] <- cbind(timepoint = t,
                                        row_df("joint", NA, NA, NA, NA, ct[["Pr(>F)"]], n),
                                        df = ct[["DenDF"]])
    }
  }
  do.call(rbind, rows)
}

run_case <- function(spec, data_path = "data.csv") {
  d <- select_arms(read_data(data_path), spec)
  stopifnot(!any(duplicated(d$.id)))
  out <- list()
  for (o in spec$outcomes) {
    family <- if (o$type == "binary") "binomial" else "gaussian"
    model_label <- if (spec$model == "mixed") "mixed" else if (family == "binomial") "logistic" else "linear"
    ycoded <- lapply(o$followups, function(col) code_outcome(d[[col]], o))
    for (mod in spec$moderators) {
      cm <- code_moderator(d[[mod$column]], mod)
      # baseline enters once: when the moderator is the outcome's baseline column, drop it
      b <- if (!is.null(o$baseline) && isTRUE(spec$adjust_for_baseline) &&
               mod$column != o$baseline) {
        # a binary outcome's baseline is coded like the outcome (1 = event)
        if (family == "binomial") code_outcome(d[[o$baseline]], o) else as.numeric(d[[o$baseline]])
      } else NULL
      if (spec$model == "mixed") {
        stopifnot(family == "gaussian")
        r <- fit_mixed(d, o$followups, cm$x, b, cm$levels, mod$type)
        r$df <- NULL
      } else {
        r <- do.call(rbind, lapply(names(o$followups), function(t) {
          cbind(timepoint = t,
                fit_single(ycoded[[t]], cm$x, b, d$.treat, cm$levels, mod$type, family, spec$se))
        }))
      }
      out[[length(out) + 1]] <- cbind(outcome = o$name, moderator = mod$name, model = model_label, r)
    }
  }
  res <- do.call(rbind, out)
  res$p_adjusted <- NA
  res$tier <- tier_of(res$p_value)
  res[, RESULT_COLUMNS]
}

csv_field <- function(x) {
  if (is.numeric(x)) {
    ifelse(is.na(x), "", sprintf("%.17g", x))
  } else {
    x <- ifelse(is.na(x), "", as.character(x))
    needs <- grepl("[\",\n\r]", x)
    ifelse(needs, paste0("\"", gsub("\"", "\"\"", x), "\""), x)
  }
}

write_reference <- function(res, path = "reference.csv") {
  res$n <- as.integer(res$n)
  cols <- lapply(RESULT_COLUMNS, function(c) {
    if (c == "n") ifelse(is.na(res$n), "", as.character(res$n)) else csv_field(res[[c]])
  })
  lines <- do.call(paste, c(cols, sep = ","))
  writeLines(c(paste(RESULT_COLUMNS, collapse = ","), lines), path)
  invisible(res)
}

## ------------------------------- the plan ----------------------------------------------
## The specification run_case needs, read from the case's plan.yaml (the same file effectmod
## reads), so that the reference cannot drift from the plan it checks. Plan features that the
## reference helpers do not implement stop the script instead of being ignored.
plan_spec <- function(path = "plan.yaml") {
  p <- yaml::read_yaml(path)
  a <- p$analysis
  key <- function(x) if (is.null(x)) NULL else as.character(x)
  num <- function(x, default) if (is.null(x)) default else as.numeric(x)
  stopifnot(
    !is.null(a$model), !is.null(a$se), !is.null(a$adjust_for_baseline),
    is.null(p$covariates),
    num(a$ci_level, 0.95) == CI_LEVEL,
    num(a$evidence_threshold, 0.05) == EVIDENCE,
    num(a$exploratory_threshold, 0.20) == EXPLORATORY,
    is.null(a$multiplicity) || a$multiplicity == "none",
    num(a$bootstrap, 0) == 0,
    num(a$imputations, 0) == 0,
    is.null(a$sensitivity)
  )
  outcomes <- lapply(p$outcomes, function(o) {
    stopifnot(is.null(o$derive))
    fu <- vapply(o$followups, as.character, "")
    stopifnot(!is.null(o$type))
    list(name = o$name, type = o$type,
         range = if (is.null(o$range)) NULL else as.numeric(unlist(o$range)),
         event = key(o$event), baseline = key(o$baseline),
         followups = setNames(unname(fu), names(o$followups)))
  })
  moderators <- lapply(p$moderators, function(m) {
    stopifnot(!is.null(m$type), m$type == "continuous" || !is.null(m$reference))
    list(name = m$name, column = if (is.null(m$column)) m$name else m$column, type = m$type,
         reference = key(m$reference))
  })
  list(id = p$data$id, treatment = p$data$treatment,
       treated = key(p$data$treated), control = key(p$data$control),
       outcomes = outcomes, moderators = moderators,
       model = a$model, se = a$se, adjust_for_baseline = isTRUE(a$adjust_for_baseline))
}
