## Reference results for the effectmod validation case 'multiarm' (three-arm trials, CONTRACT 6.3).
## Run inside this folder:  Rscript ref.R  (or ../regenerate.sh multiarm).
## Writes anorexia.csv (MASS::anorexia with an id and two derived moderators) and colon.csv
## (survival::colon, death records), then reference.csv: per case, moderator and comparison the
## arm x moderator coefficient(s), each comparison's categorical joint test and the `all arms`
## joint Wald test of every arm x moderator coefficient.
##
## One model per outcome x moderator with all three arms (arm a factor, control first):
##   anorexia: lm(Postwt ~ arm * mod + Prewt), Prewt entered once when it is the moderator;
##             classical and HC3 (sandwich::vcovHC type HC3); t / F on the residual df.
##   colon:    glm(status ~ arm * mod, binomial, epsilon 1e-14); Wald z, chi-square joint tests.
##   mixed:    see below (Satterthwaite t and F).
## Joint tests: Wald statistic b' V^-1 b (/ q for F) with the model's vcov; for classical lm this
## equals the nested-model F test (checked below with anova).
options(warn = 1, stringsAsFactors = FALSE)

## ------------------------------- data export ------------------------------------------
an <- MASS::anorexia
an$id <- seq_len(nrow(an))
q <- quantile(an$Prewt, c(1 / 3, 2 / 3), type = 7, names = FALSE)
an$prewt_band <- ifelse(an$Prewt <= q[1], "low", ifelse(an$Prewt <= q[2], "mid", "high"))
an$low_weight <- as.integer(an$Prewt < 80)
an$Treat <- as.character(an$Treat)
write.csv(an[, c("id", "Treat", "Prewt", "Postwt", "prewt_band", "low_weight")], "anorexia.csv",
          row.names = FALSE, quote = TRUE, na = "")

colon <- survival::colon
deaths <- colon[colon$etype == 2, ]
deaths <- deaths[order(deaths$id), c("id", "rx", "sex", "age", "differ", "status")]
write.csv(deaths, "colon.csv", row.names = FALSE, quote = TRUE, na = "")

## ------------------------------- fits --------------------------------------------------
wald <- function(b, V) as.numeric(t(b) %*% solve(V, b))

one_model <- function(case, d, outcome, tp, mod, modtype, ref_level, arms, control, family, se, baseline) {
  d$arm <- factor(d$arm, levels = c(control, arms))
  if (modtype == "categorical") {
    levs <- c(ref_level, setdiff(sort(unique(d$mod[!is.na(d$mod)])), ref_level))
    d$mod <- factor(d$mod, levels = levs)
    labels <- levs[-1]
  } else {
    labels <- ""
  }
  rhs <- if (is.null(baseline)) "arm * mod" else paste("arm * mod +", baseline)
  f <- as.formula(paste("y ~", rhs))
  keep <- complete.cases(d[, c("y", "mod", baseline)])
  d <- d[keep, ]
  fit <- if (family == "linear") lm(f, data = d) else glm(f, data = d, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
  V <- if (se == "HC3") sandwich::vcovHC(fit, type = "HC3") else vcov(fit)
  b <- coef(fit)
  dfr <- if (family == "linear") fit$df.residual else Inf
  n <- nrow(d)
  model <- if (family == "linear") "linear" else "logistic"
  rows <- list()
  add <- function(term, comparison, est, se_, p, stat, dfn, dfd) {
    crit <- if (is.finite(dfd)) qt(0.975, dfd) else qnorm(0.975)
    lo <- if (is.na(est)) NA else est - crit * se_
    hi <- if (is.na(est)) NA else est + crit * se_
    rows[[length(rows) + 1]] <<- data.frame(case = case, outcome = outcome, timepoint = tp, moderator = mod$name, term = term,
                                           model = model, comparison = comparison, estimate = est, std_error = se_,
                                           ci_low = lo, ci_high = hi, p_value = p, n = n, statistic = stat,
                                           df_num = dfn, df = dfd)
  }
  all_names <- c()
  for (a in arms) {
    nm <- if (modtype == "categorical") paste0("arm", a, ":mod", labels) else paste0("arm", a, ":mod")
    all_names <- c(all_names, nm)
    cmp <- paste(a, "vs", control)
    for (j in seq_along(nm)) {
      est <- b[[nm[j]]]
      s <- sqrt(V[nm[j], nm[j]])
      p <- if (is.finite(dfr)) 2 * pt(-abs(est / s), dfr) else 2 * pnorm(-abs(est / s))
      add(labels[j], cmp, est, s, p, NA, NA, dfr)
    }
    if (modtype == "categorical") {
      w <- wald(b[nm], V[nm, nm])
      qn <- length(nm)
      if (is.finite(dfr)) add("joint", cmp, NA, NA, pf(w / qn, qn, dfr, lower.tail = FALSE), w / qn, qn, dfr)
      else add("joint", cmp, NA, NA, pchisq(w, qn, lower.tail = FALSE), w, qn, Inf)
    }
  }
  w <- wald(b[all_names], V[all_names, all_names])
  qn <- length(all_names)
  if (is.finite(dfr)) {
    if (se == "classical") {   # the nested-model F test gives the same statistic
      small <- update(fit, as.formula(paste("y ~", sub("arm \\* mod", "arm + mod", rhs))))
      stopifnot(abs(anova(small, fit)$F[2] - w / qn) < 1e-8 * (w / qn))
    }
    add("joint", "all arms", NA, NA, pf(w / qn, qn, dfr, lower.tail = FALSE), w / qn, qn, dfr)
  } else {
    add("joint", "all arms", NA, NA, pchisq(w, qn, lower.tail = FALSE), w, qn, Inf)
  }
  do.call(rbind, rows)
}

## each case's arms, outcome, baseline, moderators and variance from its plan
run_plan <- function(case, file, data_file, family) {
  plan <- yaml::read_yaml(file)
  d0 <- read.csv(data_file, stringsAsFactors = FALSE)
  o <- plan$outcomes[[1]]
  d0$arm <- as.character(d0[[plan$data$treatment]])
  tp <- names(o$followups)[1]
  d0$y <- d0[[o$followups[[tp]]]]
  se <- if (is.null(plan$analysis$se)) "classical" else plan$analysis$se
  lapply(plan$moderators, function(m) {
    d <- d0
    d$mod <- d[[m$column]]
    base <- if (is.null(o$baseline) || m$column == o$baseline) NULL else o$baseline   # the baseline enters once
    ref <- if (is.null(m$reference)) NULL else as.character(m$reference)
    one_model(case, d, o$name, tp, list(name = m$name), m$type, ref, unlist(plan$data$treated),
              as.character(plan$data$control), family, se, base)
  })
}
out <- c(run_plan("anorexia_classical", "plan_anorexia.yaml", "anorexia.csv", "linear"),
         run_plan("anorexia_HC3", "plan_anorexia_hc3.yaml", "anorexia.csv", "linear"),
         run_plan("colon", "plan_colon.yaml", "colon.csv", "logistic"))
an <- read.csv("anorexia.csv", stringsAsFactors = FALSE)
an$arm <- an$Treat
an$y <- an$Postwt
co <- read.csv("colon.csv", stringsAsFactors = FALSE)
co$arm <- co$rx
co$y <- co$status
## mixed: mixed.csv (a simulated three-arm trial written by effectmod's test author, two
## follow-ups); lmerTest::lmer(y ~ time * arm * mod + base + (1 | id), REML), each comparison's
## arm x moderator contrast at each follow-up by contest1D and the joint tests by contestMD
## (Satterthwaite), as ../common.R does for two arms.
mx <- read.csv("mixed.csv", stringsAsFactors = FALSE)
mplan <- yaml::read_yaml("plan_mixed.yaml")
mo <- mplan$outcomes[[1]]
fu <- names(mo$followups)
mx_mods <- lapply(mplan$moderators, function(m) list(name = m$name, col = m$column, type = m$type, ref = m$reference))
for (mm in mx_mods) {
  long <- do.call(rbind, lapply(fu, function(t) data.frame(id = mx[[mplan$data$id]], arm = mx[[mplan$data$treatment]],
                                                            base = mx[[mo$baseline]], mod = mx[[mm$col]], time = t,
                                                            y = mx[[mo$followups[[t]]]])))
  long <- long[complete.cases(long), ]
  long$time <- factor(long$time, levels = fu)
  long$arm <- factor(long$arm, levels = c(mplan$data$control, unlist(mplan$data$treated)))
  long$id <- factor(long$id)
  if (mm$type == "categorical") long$mod <- factor(long$mod, levels = c(mm$ref, setdiff(sort(unique(long$mod)), mm$ref)))
  labels <- if (mm$type == "categorical") levels(long$mod)[-1] else ""
  ctrl <- lme4::lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
  fit <- lmerTest::lmer(y ~ time * arm * mod + base + (1 | id), data = long, REML = TRUE, control = ctrl)
  beta <- lme4::fixef(fit)
  n <- length(unique(long$id))
  L_of <- function(a, lab, t) {
    L <- setNames(numeric(length(beta)), names(beta))
    L[[paste0("arm", a, ":mod", lab)]] <- 1
    if (t != fu[1]) L[[paste0("time", t, ":arm", a, ":mod", lab)]] <- 1
    L
  }
  rows <- list()
  add <- function(t, term, cmp, est, s, p, stat, dfn, dfd) {
    q <- qt(0.975, dfd)
    rows[[length(rows) + 1]] <<- data.frame(case = "mixed", outcome = "y", timepoint = t, moderator = mm$name, term = term,
                                           model = "mixed", comparison = cmp, estimate = est, std_error = s,
                                           ci_low = est - q * s, ci_high = est + q * s, p_value = p, n = n,
                                           statistic = stat, df_num = dfn, df = dfd)
  }
  for (t in fu) {
    all_L <- list()
    for (a in unlist(mplan$data$treated)) {
      cmp <- paste(a, "vs", mplan$data$control)
      Ls <- lapply(labels, function(lab) L_of(a, lab, t))
      all_L <- c(all_L, Ls)
      for (j in seq_along(labels)) {
        ct <- lmerTest::contest1D(fit, Ls[[j]], ddf = "Satterthwaite")
        add(t, labels[j], cmp, ct[["Estimate"]], ct[["Std. Error"]], ct[["Pr(>|t|)"]], NA, NA, ct[["df"]])
      }
      if (mm$type == "categorical") {
        ct <- lmerTest::contestMD(fit, do.call(rbind, Ls), ddf = "Satterthwaite")
        add(t, "joint", cmp, NA, NA, ct[["Pr(>F)"]], ct[["F value"]], ct[["NumDF"]], ct[["DenDF"]])
      }
    }
    ct <- lmerTest::contestMD(fit, do.call(rbind, all_L), ddf = "Satterthwaite")
    add(t, "joint", "all arms", NA, NA, ct[["Pr(>F)"]], ct[["F value"]], ct[["NumDF"]], ct[["DenDF"]])
  }
  out[[length(out) + 1]] <- do.call(rbind, rows)
}

## conditional effects per comparison (effects.csv): each treated arm's effect against the control
## at the moderator's levels (band, sex) or at its 10/25/50/75/90th percentiles (type 7) over the
## participants of the two arms compared (prewt), from the one model with every arm.
eff <- list()
cond <- function(case, fit, V, arms, control, mod, modtype, values, labels, dfr) {
  b <- coef(fit)
  for (a in arms) {
    for (i in seq_along(values)) {
      L <- setNames(numeric(length(b)), names(b))
      L[[paste0("arm", a)]] <- 1
      if (modtype == "categorical") {
        if (values[i] != "") L[[paste0("arm", a, ":mod", values[[i]])]] <- 1
      } else {
        L[[paste0("arm", a, ":mod")]] <- as.numeric(values[[i]][[a]])
      }
      est <- sum(L * b)
      se <- sqrt(as.numeric(t(L) %*% V %*% L))
      p <- if (is.finite(dfr)) 2 * pt(-abs(est / se), dfr) else 2 * pnorm(-abs(est / se))
      mv <- if (modtype == "categorical") labels[i] else as.numeric(values[[i]][[a]])
      eff[[length(eff) + 1]] <<- data.frame(case = case, moderator = mod, comparison = paste(a, "vs", control),
                                           percentile = labels[i], moderator_value = mv, effect = est,
                                           std_error = se, p_value = p)
    }
  }
}
an2 <- an
an2$arm <- factor(an2$arm, levels = c("Cont", "CBT", "FT"))
an2$mod <- factor(an2$prewt_band, levels = c("low", "mid", "high"))
f <- lm(y ~ arm * mod + Prewt, data = an2)
cond("anorexia_classical", f, vcov(f), c("CBT", "FT"), "Cont", "band", "categorical", c("", "mid", "high"),
     c("low", "mid", "high"), f$df.residual)
an2$mod <- an2$Prewt
f <- lm(y ~ arm * mod, data = an2)
pcts <- c(10, 25, 50, 75, 90)
vals <- lapply(pcts, function(q) sapply(c("CBT", "FT"), function(a)
  quantile(an2$Prewt[an2$arm %in% c("Cont", a)], q / 100, type = 7, names = FALSE), simplify = FALSE))
cond("anorexia_classical", f, vcov(f), c("CBT", "FT"), "Cont", "prewt", "continuous", vals, paste0("p", pcts), f$df.residual)
co2 <- co
co2$arm <- factor(co2$arm, levels = c("Obs", "Lev", "Lev+5FU"))
co2$mod <- factor(co2$sex, levels = c(0, 1))
f <- glm(y ~ arm * mod, data = co2, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
cond("colon", f, vcov(f), c("Lev", "Lev+5FU"), "Obs", "sex", "categorical", c("", "1"), c("0", "1"), Inf)
## additive scale (additive.csv): colon, sex - each comparison's difference in risk differences
## (sex 1 minus sex 0) from the model with every arm; with no covariates every participant of a
## level has the same risks, so the marginal standardisation is this closed form, its SE by the
## delta method with vcov(glm).
add_rows <- list()
b <- coef(f)
for (a in c("Lev", "Lev+5FU")) {
  x <- function(arm, sex) {
    v <- setNames(numeric(length(b)), names(b))
    v[["(Intercept)"]] <- 1
    if (arm) v[[paste0("arm", a)]] <- 1
    if (sex) v[["mod1"]] <- 1
    if (arm && sex) v[[paste0("arm", a, ":mod1")]] <- 1
    v
  }
  xs <- list(x(TRUE, TRUE), x(FALSE, TRUE), x(TRUE, FALSE), x(FALSE, FALSE))
  w <- c(1, -1, -1, 1)
  pr <- sapply(xs, function(v) plogis(sum(v * b)))
  est <- sum(w * pr)
  grad <- Reduce(`+`, Map(function(v, wi, p) wi * p * (1 - p) * v, xs, w, pr))
  se <- sqrt(as.numeric(t(grad) %*% vcov(f) %*% grad))
  add_rows[[length(add_rows) + 1]] <- data.frame(case = "colon", moderator = "sex", comparison = paste(a, "vs Obs"),
                                                 rd_estimate = est, rd_std_error = se)
}
adds <- do.call(rbind, add_rows)
num <- vapply(adds, is.numeric, logical(1))
adds[num] <- lapply(adds[num], function(x) trimws(formatC(x, digits = 17, format = "g")))
write.csv(adds, "additive.csv", row.names = FALSE, quote = FALSE, na = "")

effs <- do.call(rbind, eff)
num <- vapply(effs, is.numeric, logical(1))
effs[num] <- lapply(effs[num], function(x) ifelse(is.na(x), NA, trimws(formatC(x, digits = 17, format = "g"))))
write.csv(effs, "effects.csv", row.names = FALSE, quote = FALSE, na = "")

res <- do.call(rbind, out)
num <- vapply(res, is.numeric, logical(1))
res[num] <- lapply(res[num], function(x) ifelse(is.na(x), NA, trimws(formatC(x, digits = 17, format = "g"))))
write.csv(res, "reference.csv", row.names = FALSE, quote = FALSE, na = "")
print(res[, c("case", "moderator", "term", "comparison", "estimate", "p_value", "n")], row.names = FALSE)
