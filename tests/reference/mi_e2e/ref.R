## Reference numbers for effectmod's imputed analysis (tests/test_imputation_e2e.py).
## Run inside this folder, after `python make_completed.py`:  Rscript ref.R
## Needs R (>= 4.2) with yaml, mice (3.x), mitml, lme4 and lmerTest. Writes reference.csv.
## (../regenerate.sh mi_e2e runs it and records the versions in versions.txt; it does not
## re-export the completed datasets.)
##
## Reads the m completed datasets effectmod exported (completed_XX.csv), fits the models of
## plan.yaml (linear, logistic) and plan_mixed.yaml (mixed) on each, and pools them:
##   linear   : lm(y_t ~ treat * mod + bdi.pre) (bdi.pre once when it is the moderator),
##              mice::pool (complete-data df = df.residual), joint rows mice::D1 (Reiter df).
##   logistic : responder = 100 (bdi.pre - y_t) / bdi.pre >= 50, derived on each completed
##              dataset (passive imputation); glm(binomial) pooled by mice::pool(dfcom = Inf)
##              (Rubin's df); joint rows mitml::testModels(method = "D1") without df.com (LRR df).
##   mixed    : lmerTest::lmer(y ~ time * treat * mod + bdi.pre + (1 | id), REML), the treat x mod
##              contrast at each follow-up with its Satterthwaite df (contest1D); pooled by
##              Rubin's rules written out below, with the complete-data df = the mean over the
##              imputations of that contrast's Satterthwaite df (effectmod's documented choice)
##              and mice:::barnard.rubin's df; joint rows D1 (mitml::testConstraints on the
##              per-imputation contrasts) with df.com = the mean contestMD denominator df.
suppressPackageStartupMessages({library(mice); library(mitml); library(lme4); library(lmerTest)})
options(warn = 1, stringsAsFactors = FALSE)

files <- sort(list.files(".", pattern = "^completed_[0-9]+\\.csv$"))
m <- length(files)
fmt <- function(x) formatC(x, digits = 17, format = "g")

## the plans: the models below are written for this design; read what varies, check the rest
plan <- yaml::read_yaml("plan.yaml")
plan_mixed <- yaml::read_yaml("plan_mixed.yaml")
bdi <- plan$outcomes[[1]]
stopifnot(length(plan$outcomes) == 2, bdi$name == "bdi", bdi$baseline == "bdi.pre",
          identical(plan$outcomes[[2]]$derive,
                    list(from = "bdi", rule = "reduction_from_baseline_pct >= 50")),
          identical(plan_mixed$outcomes, plan$outcomes[1]),
          identical(plan_mixed$moderators, plan$moderators),
          plan$analysis$model == "linear", plan_mixed$analysis$model == "mixed",
          plan$analysis$imputations == m)
times <- names(bdi$followups)
cols <- vapply(bdi$followups, as.character, "", USE.NAMES = FALSE)
mods <- setNames(lapply(plan$moderators, `[[`, "column"), vapply(plan$moderators, `[[`, "", "name"))
stopifnot(identical(unname(unlist(mods)), c("drug", "severity", "bdi.pre")))

read_completed <- function(f) {
  d <- read.csv(f, check.names = FALSE)
  d$treat <- as.integer(d[[plan$data$treatment]] == plan$data$treated)
  for (mo in plan$moderators) if (mo$type != "continuous") {
    # factor with the plan's reference level first
    ref <- as.character(mo$reference)
    d[[mo$column]] <- factor(d[[mo$column]], levels = c(ref, setdiff(sort(unique(d[[mo$column]])), ref)))
  }
  d
}
ds <- lapply(files, read_completed)

rhs <- function(modcol, interaction = TRUE) {
  base <- if (modcol == "bdi.pre") "" else " + `bdi.pre`"
  if (interaction) paste0("treat * `", modcol, "`", base) else paste0("treat + `", modcol, "`", base)
}
# interaction coefficient names and their effectmod `term`
inter_terms <- function(fit, modcol) {
  nm <- names(coef(fit))
  nm <- nm[startsWith(nm, "treat:")]
  term <- sub(paste0("^treat:`?", modcol, "`?"), "", nm)
  if (modcol %in% c("drug", "bdi.pre")) term[] <- ""
  list(names = nm, terms = term)
}

# glm's deviance-based stopping rule leaves ~1e-9 in the coefficients; a refit started at the
# solution takes one more Newton (IRLS) step, which converges them to rounding
logit <- function(f, d) {
  ctl <- glm.control(epsilon = 1e-14, maxit = 100)
  fit <- glm(f, family = binomial, data = d, control = ctl)
  glm(f, family = binomial, data = d, start = coef(fit), control = ctl)
}
# REML by lme4's deviance function minimised with optimize() to rounding, then lmerTest at that
# theta (lme4's default optimiser stops ~1e-6 short, which the pooled SE and df would show)
fit_lmer <- function(f, d) {
  dev <- lmer(f, data = d, REML = TRUE, devFunOnly = TRUE)
  th <- optimize(dev, c(0, 100), tol = 1e-15)$minimum
  lmer(f, data = d, REML = TRUE, start = list(theta = th), control = lmerControl(optimizer = NULL))
}

rows <- list()
add <- function(...) rows[[length(rows) + 1]] <<- data.frame(..., check.names = FALSE)

pooled_rows <- function(fits, pooled, modname, modcol, t, model) {
  it <- inter_terms(fits[[1]], modcol)
  s <- summary(pooled)
  p <- pooled$pooled
  for (j in seq_along(it$names)) {
    k <- which(as.character(p$term) == it$names[j])
    add(outcome = if (model == "logistic") "response" else "bdi", timepoint = t, moderator = modname,
        term = it$terms[j], model = model, estimate = fmt(p$estimate[k]), std_error = fmt(sqrt(p$t[k])),
        df = fmt(p$df[k]), p_value = fmt(s$p.value[k]), riv = fmt(p$riv[k]), fmi = fmt(p$fmi[k]),
        statistic = "", df_num = "")
  }
}
joint_row <- function(res, modname, t, model) {
  add(outcome = if (model == "logistic") "response" else "bdi", timepoint = t, moderator = modname,
      term = "joint", model = model, estimate = "", std_error = "", df = fmt(res[3]), p_value = fmt(res[4]),
      riv = fmt(res[5]), fmi = "", statistic = fmt(res[1]), df_num = fmt(res[2]))
}

## linear and logistic, one model per follow-up
for (k in seq_along(times)) {
  for (modname in names(mods)) {
    modcol <- mods[[modname]]
    fy <- as.formula(paste0("`", cols[k], "` ~ ", rhs(modcol)))
    fits <- lapply(ds, function(d) lm(fy, data = d))
    pooled_rows(fits, pool(as.mira(fits)), modname, modcol, times[k], "linear")
    resp <- function(d) { d$resp <- as.integer(100 * (d$bdi.pre - d[[cols[k]]]) / d$bdi.pre >= 50); d }
    fr <- as.formula(paste0("resp ~ ", rhs(modcol)))
    gl <- lapply(ds, function(d) logit(fr, resp(d)))
    pooled_rows(gl, pool(as.mira(gl), dfcom = Inf), modname, modcol, times[k], "logistic")
    if (modname == "severity") {
      f0 <- as.formula(paste0("`", cols[k], "` ~ ", rhs(modcol, FALSE)))
      fits0 <- lapply(ds, function(d) lm(f0, data = d))
      joint_row(D1(as.mira(fits), as.mira(fits0))$result[1, ], modname, times[k], "linear")
      g0 <- as.formula(paste0("resp ~ ", rhs(modcol, FALSE)))
      gl0 <- lapply(ds, function(d) logit(g0, resp(d)))
      joint_row(testModels(as.mitml.result(gl), as.mitml.result(gl0), method = "D1")$test[1, ],
                modname, times[k], "logistic")
    }
  }
}

## mixed: one model per moderator over the four follow-ups
to_long <- function(d) {
  out <- do.call(rbind, lapply(seq_along(times), function(k)
    data.frame(d[, c("id", "treat", "bdi.pre", "drug", "severity")], time = times[k], y = d[[cols[k]]],
               check.names = FALSE)))
  out$time <- factor(out$time, levels = times)
  out
}
barnard_rubin <- function(m, b, t, dfcom) {
  lambda <- max((1 + 1 / m) * b / t, 1e-4)
  dfold <- (m - 1) / lambda^2
  dfobs <- (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lambda)
  dfold * dfobs / (dfold + dfobs)
}
for (modname in names(mods)) {
  modcol <- mods[[modname]]
  base <- if (modcol == "bdi.pre") "" else " + `bdi.pre`"
  f <- as.formula(paste0("y ~ time * treat * `", modcol, "`", base, " + (1 | id)"))
  fits <- lapply(ds, function(d) fit_lmer(f, to_long(d)))
  nm <- names(fixef(fits[[1]]))
  it <- nm[grepl("^treat:", nm)]
  for (t in times) {
    Ls <- lapply(it, function(b) {
      L <- as.numeric(nm == b)
      if (t != times[1]) L <- L + as.numeric(nm == paste0("time", t, ":", b))
      L
    })
    for (j in seq_along(it)) {
      cs <- do.call(rbind, lapply(fits, function(fit) contest1D(fit, Ls[[j]])))
      q <- cs$Estimate; u <- cs$`Std. Error`^2
      qbar <- mean(q); ubar <- mean(u); b <- var(q); tt <- ubar + (1 + 1 / m) * b
      df <- barnard_rubin(m, b, tt, mean(cs$df))
      riv <- (1 + 1 / m) * b / ubar
      term <- if (modcol == "severity") sub("^treat:severity", "", it[j]) else ""
      add(outcome = "bdi", timepoint = t, moderator = modname, term = term, model = "mixed",
          estimate = fmt(qbar), std_error = fmt(sqrt(tt)), df = fmt(df),
          p_value = fmt(2 * pt(-abs(qbar / sqrt(tt)), df)), riv = fmt(riv),
          fmi = fmt((riv + 2 / (df + 3)) / (riv + 1)), statistic = "", df_num = "")
    }
    if (length(it) > 1) {
      L <- do.call(rbind, Ls)
      qhat <- sapply(fits, function(fit) as.numeric(L %*% fixef(fit)))
      rownames(qhat) <- paste0("c", seq_along(it))
      uhat <- simplify2array(lapply(fits, function(fit) as.matrix(L %*% vcov(fit) %*% t(L))))
      dimnames(uhat) <- list(rownames(qhat), rownames(qhat), NULL)
      ddf <- mean(sapply(fits, function(fit) contestMD(fit, L)$DenDF))
      res <- testConstraints(qhat = qhat, uhat = uhat, constraints = rownames(qhat), method = "D1",
                             df.com = ddf)$test[1, ]
      joint_row(res, modname, t, "mixed")
    }
  }
}

out <- do.call(rbind, rows)
write.csv(out, "reference.csv", row.names = FALSE, quote = FALSE)
cat("wrote reference.csv:", nrow(out), "rows from", m, "completed datasets\n")
