## Reference conditional treatment effects and Johnson-Neyman boundaries on the BtheB data
## (HSAUR; see tests/reference/btheb_linear/README.md), for effectmod's tests/test_effects.py.
## Run inside this folder:  Rscript ref.R   (reads plan.yaml and data.csv, writes
## conditional_effects.csv, jn.csv), or ../regenerate.sh btheb_effects (also writes versions.txt).
## Needs R with yaml, emmeans, lme4 and lmerTest.
##
## linear: lm(bdi_t ~ TR * M + bdi.pre) per follow-up t (complete cases; no extra bdi.pre when the
##         moderator is bdi.pre). Conditional effects (treated - TAU) by emmeans at the moderator's
##         10/25/50/75/90th percentiles (quantile type 7 over the analysed participants) and at
##         the plan's extra values (`at`), or at each level of a binary moderator.
##         JN: roots of the quadratic by polyroot() on vcov(fit), checked by uniroot() on the
##         t-statistic criterion.
## mixed : lmerTest::lmer(bdi ~ time * TR * M + bdi.pre + (1 | id)), REML; the effect at (t, m) by
##         contest1D (Satterthwaite df). JN: uniroot() on |est(m)| - qt(0.975, df(m)) se(m) = 0,
##         where df(m) is the Satterthwaite df of the effect at m itself.
suppressPackageStartupMessages({
  library(emmeans)
  library(lme4)
  library(lmerTest)
})
options(warn = 1, stringsAsFactors = FALSE)
PCT <- c(10, 25, 50, 75, 90)   # effectmod's reporting percentiles (not a plan key)

## ------------------------------- the plan (plan.yaml) ------------------------------------
plan <- yaml::read_yaml("plan.yaml")
LEVEL <- if (is.null(plan$analysis$ci_level)) 0.95 else plan$analysis$ci_level
stopifnot(length(plan$outcomes) == 1, identical(plan$analysis$sensitivity, "mixed"),
          isTRUE(plan$analysis$adjust_for_baseline))
outcome <- plan$outcomes[[1]]
BASELINE <- outcome$baseline
fu <- vapply(outcome$followups, as.character, "")
d <- read.csv("data.csv", stringsAsFactors = FALSE, check.names = FALSE)
stopifnot(all(d[[plan$data$treatment]] %in% c(plan$data$treated, plan$data$control)))
d$TR <- as.integer(d[[plan$data$treatment]] == plan$data$treated)
d$id <- d[[plan$data$id]]
mods <- list()
for (m in plan$moderators) {
  mods[[m$name]] <- if (m$type == "binary") {
    ref <- as.character(m$reference)
    lev <- sort(unique(as.character(d[[m$column]])))
    stopifnot(length(lev) == 2, ref %in% lev)
    list(col = m$column, type = "binary", ref = ref, other = setdiff(lev, ref))
  } else {
    stopifnot(m$type == "continuous")
    list(col = m$column, type = "continuous", at = as.numeric(unlist(m$at)))
  }
}

ce_rows <- list()
jn_rows <- list()
add_ce <- function(model, t, mod, label, value, est, se, df) {
  q <- if (is.infinite(df)) qnorm(1 - (1 - LEVEL) / 2) else qt(1 - (1 - LEVEL) / 2, df)
  p <- 2 * pt(-abs(est / se), df)
  ce_rows[[length(ce_rows) + 1]] <<- data.frame(model = model, timepoint = t, moderator = mod,
    percentile = label, moderator_value = value, effect = est, std_error = se, df = df,
    ci_low = est - q * se, ci_high = est + q * se, p_value = p)
}

## ------------------------------------------------------------------ linear
for (t in names(fu)) {
  for (mn in names(mods)) {
    mod <- mods[[mn]]
    f <- data.frame(Y = d[[fu[[t]]]], TR = d$TR, B = d[[BASELINE]])
    f$M <- if (mod$type == "binary") as.integer(d[[mod$col]] == mod$other) else d[[mod$col]]
    f <- f[complete.cases(f), ]
    form <- if (mod$col == BASELINE) Y ~ TR * M else Y ~ TR * M + B
    fit <- lm(form, data = f)
    if (mod$type == "continuous") {
      vals <- unname(quantile(f$M, PCT / 100, type = 7))
      labels <- c(paste0("p", PCT), rep("plan", length(mod$at)))
      vals <- c(vals, mod$at)
    } else {
      vals <- c(0, 1)
      labels <- c(mod$ref, mod$other)
    }
    em <- emmeans(fit, ~ TR | M, at = list(M = vals, TR = c(0, 1)))
    ct <- as.data.frame(summary(contrast(em, "revpairwise")))
    for (i in seq_along(vals)) {
      r <- ct[abs(ct$M - vals[i]) < 1e-12, ]
      stopifnot(nrow(r) == 1)
      add_ce("linear", t, mn, labels[i], vals[i], r$estimate, r$SE, r$df)
    }
    if (mod$type == "continuous") {
      b <- coef(fit); V <- vcov(fit)
      b1 <- b[["TR"]]; b3 <- b[["TR:M"]]
      v11 <- V["TR", "TR"]; v13 <- V["TR", "TR:M"]; v33 <- V["TR:M", "TR:M"]
      q <- qt(1 - (1 - LEVEL) / 2, fit$df.residual)
      r <- polyroot(c(b1^2 - q^2 * v11, 2 * (b1 * b3 - q^2 * v13), b3^2 - q^2 * v33))
      stopifnot(all(abs(Im(r)) < 1e-8))
      r <- sort(Re(r))
      crit <- function(m) abs(b1 + m * b3) / sqrt(v11 + 2 * m * v13 + m^2 * v33) - q
      for (k in seq_along(r)) {
        u <- uniroot(crit, r[k] + c(-1, 1) * 1e-3 * max(1, abs(r[k])), tol = 1e-14)$root
        stopifnot(abs(u - r[k]) < 1e-8 * max(1, abs(r[k])))
      }
      jn_rows[[length(jn_rows) + 1]] <- data.frame(model = "linear", timepoint = t, moderator = mn,
        lower = r[1], upper = r[2], df_lower = fit$df.residual, df_upper = fit$df.residual)
    }
  }
}

## ------------------------------------------------------------------ mixed
for (mn in names(mods)) {
  mod <- mods[[mn]]
  base <- data.frame(id = d$id, TR = d$TR, B = d[[BASELINE]])
  base$M <- if (mod$type == "binary") as.integer(d[[mod$col]] == mod$other) else d[[mod$col]]
  long <- do.call(rbind, lapply(names(fu), function(t) {
    x <- base; x$time <- t; x$Y <- d[[fu[[t]]]]; x
  }))
  long <- long[complete.cases(long), ]
  long$time <- factor(long$time, levels = names(fu))
  long$id <- factor(long$id)
  form <- if (mod$col == BASELINE) Y ~ time * TR * M + (1 | id) else Y ~ time * TR * M + B + (1 | id)
  ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
  fit <- lmerTest::lmer(form, data = long, REML = TRUE, control = ctrl)
  tt <- delete.response(terms(fit))
  people <- long[!duplicated(long$id), ]
  Lfor <- function(t, m) {
    nd <- data.frame(TR = c(1, 0), M = m, B = 0, time = factor(rep(t, 2), levels = levels(long$time)))
    X <- model.matrix(tt, nd)
    X[1, ] - X[2, ]
  }
  for (t in names(fu)) {
    if (mod$type == "continuous") {
      vals <- c(unname(quantile(people$M, PCT / 100, type = 7)), mod$at)
      labels <- c(paste0("p", PCT), rep("plan", length(mod$at)))
    } else {
      vals <- c(0, 1); labels <- c(mod$ref, mod$other)
    }
    for (i in seq_along(vals)) {
      ct <- lmerTest::contest1D(fit, Lfor(t, vals[i]), ddf = "Satterthwaite")
      add_ce("mixed", t, mn, labels[i], vals[i], ct[["Estimate"]], ct[["Std. Error"]], ct[["df"]])
    }
    if (mod$type == "continuous") {
      crit <- function(m) {
        ct <- lmerTest::contest1D(fit, Lfor(t, m), ddf = "Satterthwaite")
        abs(ct[["Estimate"]]) / ct[["Std. Error"]] - qt(1 - (1 - LEVEL) / 2, ct[["df"]])
      }
      grid <- seq(-200, 300, by = 0.25)
      g <- sapply(grid, crit)
      idx <- which(diff(sign(g)) != 0)
      roots <- sapply(idx, function(j) uniroot(crit, grid[c(j, j + 1)], tol = 1e-13)$root)
      dfs <- sapply(roots, function(m) lmerTest::contest1D(fit, Lfor(t, m), ddf = "Satterthwaite")[["df"]])
      jn_rows[[length(jn_rows) + 1]] <- data.frame(model = "mixed", timepoint = t, moderator = mn,
        lower = if (length(roots) >= 1) roots[1] else NA, upper = if (length(roots) >= 2) roots[2] else NA,
        df_lower = if (length(roots) >= 1) dfs[1] else NA, df_upper = if (length(roots) >= 2) dfs[2] else NA)
    }
  }
}

fmt <- function(df) {
  for (c in names(df)) if (is.numeric(df[[c]])) df[[c]] <- ifelse(is.na(df[[c]]), "", sprintf("%.17g", df[[c]]))
  df
}
ce <- do.call(rbind, ce_rows)
jn <- do.call(rbind, jn_rows)
write.csv(fmt(ce), "conditional_effects.csv", row.names = FALSE, quote = FALSE)
write.csv(fmt(jn), "jn.csv", row.names = FALSE, quote = FALSE)
print(jn)
