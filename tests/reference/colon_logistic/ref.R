## Reference results for the effectmod validation case 'colon_logistic'.
## Run inside this folder:  Rscript ref.R
## Writes data.csv (from R package survival, dataset colon, the death records: one row per
## participant) and reference.csv. Needs R (>= 4.2) with survival (a recommended package).

## ---------------------------------------------------------------------------------------
## Reference helpers: those of the other cases' ref.R (btheb_linear), without the mixed-model
## part. One change, for binary outcomes: the outcome's baseline column is coded like the
## outcome (1 = the event value, 0 = the other) before it enters the model as a covariate.
## Definitions follow CONTRACT.md section 3:
##   binary : per outcome x follow-up x moderator, glm(y_t ~ treat*mod + baseline, binomial,
##            epsilon = 1e-14) (the baseline enters once when it is the moderator), complete
##            cases; estimate = treat:mod, SE from the inverse information at the estimate,
##            Wald z CI and p.
##   categorical moderator: k-1 rows (non-reference levels) + `joint` row: Wald chi-square
##            test of the k-1 interaction terms.
## ---------------------------------------------------------------------------------------
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
  V <- if (se_type == "HC3") stop("HC3 is not used in this case") else vcov(fit)
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
      # a binary outcome's baseline is coded like the outcome (1 = event)
      b <- if (!is.null(o$baseline) && isTRUE(spec$adjust_for_baseline) &&
               mod$column != o$baseline) {
        if (family == "binomial") code_outcome(d[[o$baseline]], o) else as.numeric(d[[o$baseline]])
      } else NULL
      stopifnot(spec$model == "linear")
      r <- do.call(rbind, lapply(names(o$followups), function(t) {
        cbind(timepoint = t,
              fit_single(ycoded[[t]], cm$x, b, d$.treat, cm$levels, mod$type, family, spec$se))
      }))
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
## ------------------------------- end of common helpers ---------------------------------

## ------------------------------- data export ------------------------------------------
## colon (Moertel et al. 1990; Laurie et al. 1989): adjuvant chemotherapy for stage B/C colon
## cancer; 929 patients randomised to observation (Obs), levamisole (Lev) or levamisole +
## 5-FU (Lev+5FU). The dataset has two records per patient (etype 1 recurrence, 2 death);
## data.csv keeps the death records (etype == 2), all columns as distributed. `status` is
## 1 for a patient who died during follow-up. The Lev arm stays in the file and is excluded
## by the plan (control: Obs).
colon <- survival::colon
deaths <- colon[colon$etype == 2, ]
deaths <- deaths[order(deaths$id), ]
write.csv(deaths, "data.csv", row.names = FALSE, quote = TRUE, na = "")

## ------------------------- case specification (mirrors plan.yaml) ----------------------
## No follow-up over time: one binary outcome (death) with the single timepoint "end".
SPEC <- list(
  id = "id", treatment = "rx", treated = "Lev+5FU", control = "Obs",
  outcomes = list(
    list(name = "death", type = "binary", event = "1", baseline = NULL,
         followups = c("end" = "status"))
  ),
  moderators = list(
    list(name = "sex", column = "sex", type = "binary", reference = "0"),
    list(name = "age", column = "age", type = "continuous"),
    list(name = "obstruct", column = "obstruct", type = "binary", reference = "0"),
    list(name = "differ", column = "differ", type = "categorical", reference = "1"),
    list(name = "extent", column = "extent", type = "categorical", reference = "3")
  ),
  model = "linear", se = "classical", adjust_for_baseline = TRUE
)

res <- run_case(SPEC, "data.csv")
write_reference(res, "reference.csv")
print(res[, c("outcome", "timepoint", "moderator", "term", "estimate", "std_error", "p_value", "n")], digits = 6, row.names = FALSE)
