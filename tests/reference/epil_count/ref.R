## Reference results for the effectmod validation case 'epil_count' (count outcomes).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh epil_count).
## Writes data.csv from MASS::epil (Thall & Vail 1990: progabide vs placebo in epilepsy, 59
## patients, seizure counts in four consecutive two-week periods, `base` the 8-week baseline
## count), one row per patient:
##   y4        seizures in period 4 (two weeks)
##   y_obs     seizures summed over the periods counted for that patient; `weeks` is their length.
##             CONSTRUCTED for the exposure test: patients whose subject number is a multiple of 5
##             count periods 1-3 only (6 weeks), everyone else periods 1-4 (8 weeks).
##   age_group <25 / 25-31 / >=32 (a categorical moderator for the joint test)
## Then fits, for each outcome x moderator, the count models of CONTRACT section 6.3:
##   poisson            glm(y ~ treat*mod + base [+ offset(log(weeks))], family = poisson)
##   negative_binomial  MASS::glm.nb(same), polished to the exact joint maximum of (beta, theta)
##                      (theta.ml with eps 1e-13 alternating with glm(negative.binomial(theta))
##                      at epsilon 1e-14), vcov of that glm (theta treated as known).
## With base as the moderator it enters once. Wald z CI and p; categorical: joint chi-square.
## Writes reference.csv (the contract columns) and extras.csv (theta, its SE, log-likelihoods,
## Pearson chi-square, the LR test of overdispersion) for the engine tests.
source("../common.R")

e <- MASS::epil
w <- reshape(e[, c("subject", "period", "y", "trt", "base", "age")], idvar = "subject",
             timevar = "period", direction = "wide", v.names = "y")
w <- w[order(w$subject), ]
short <- w$subject %% 5 == 0
w$weeks <- ifelse(short, 6, 8)
w$y_obs <- ifelse(short, w$y.1 + w$y.2 + w$y.3, w$y.1 + w$y.2 + w$y.3 + w$y.4)
w$y4 <- w$y.4
w$age_group <- ifelse(w$age < 25, "<25", ifelse(w$age < 32, "25-31", ">=32"))
d <- data.frame(subject = w$subject, trt = as.character(w$trt), base = w$base, age = w$age,
                age_group = w$age_group, y1 = w$y.1, y2 = w$y.2, y3 = w$y.3, y4 = w$y4,
                y_obs = w$y_obs, weeks = w$weeks)
write.csv(d, "data.csv", row.names = FALSE, na = "")

plan <- yaml::read_yaml("plan.yaml")
d <- read_data("data.csv")
d$treat <- as.integer(d[[plan$data$treatment]] == plan$data$treated)
## outcomes and moderators as plan.yaml declares them (the file effectmod reads)
plan <- yaml::read_yaml("plan.yaml")
outcomes <- lapply(plan$outcomes, function(o) list(name = o$name, col = o$followups[[1]], tp = names(o$followups)[1],
                                                   exposure = o$exposure, baseline = o$baseline))
mods <- lapply(plan$moderators, function(m) list(name = m$name, col = m$column, type = m$type, ref = m$reference))

nb_exact <- function(f, dd) {
  fit <- MASS::glm.nb(f, data = dd, control = glm.control(epsilon = 1e-14, maxit = 200))
  th <- fit$theta
  for (i in 1:200) {
    g <- glm(f, data = dd, family = MASS::negative.binomial(th), control = glm.control(epsilon = 1e-15, maxit = 200),
             start = coef(fit))
    th_new <- MASS::theta.ml(g$y, fitted(g), limit = 200, eps = 1e-13)
    fit <- g
    if (abs(th_new - th) < 1e-13 * th) { th <- th_new; break }
    th <- th_new
  }
  g <- glm(f, data = dd, family = MASS::negative.binomial(th), control = glm.control(epsilon = 1e-15, maxit = 200),
           start = coef(fit))
  list(fit = g, theta = th, se_theta = attr(MASS::theta.ml(g$y, fitted(g), limit = 200, eps = 1e-13), "SE"),
       glmnb = MASS::glm.nb(f, data = dd))
}

rows <- list(); extras <- list()
for (o in outcomes) for (m in mods) for (model in c("poisson", "negative_binomial")) {
  dd <- d
  dd$y <- dd[[o$col]]
  if (m$type == "categorical") {
    ref <- if (is.null(m$ref)) sort(unique(dd[[m$col]]), method = "radix")[1] else m$ref
    dd$mod <- factor(dd[[m$col]], levels = c(ref, sort(setdiff(unique(dd[[m$col]]), ref), method = "radix")))
  } else dd$mod <- dd[[m$col]]
  ## the baseline enters once when it is the moderator
  rhs <- if (m$col == o$baseline) "treat * mod" else paste("treat * mod +", o$baseline)
  if (!is.null(o$exposure)) rhs <- paste0(rhs, " + offset(log(", o$exposure, "))")
  f <- as.formula(paste("y ~", rhs))
  pois <- glm(f, data = dd, family = poisson, control = glm.control(epsilon = 1e-15, maxit = 200))
  if (model == "poisson") { fit <- pois; theta <- NA; se_theta <- NA
  } else { nb <- nb_exact(f, dd); fit <- nb$fit; theta <- nb$theta; se_theta <- nb$se_theta }
  b <- coef(fit); V <- summary(fit, dispersion = 1)$cov.scaled   # as vcov(glm.nb): theta known, no dispersion
  terms <- grep("^treat:mod", names(b), value = TRUE)
  z <- qnorm(1 - (1 - CI_LEVEL) / 2)
  for (tm in terms) {
    est <- b[[tm]]; se <- sqrt(V[tm, tm])
    term <- if (m$type == "categorical") sub("^treat:mod", "", tm) else ""
    rows[[length(rows) + 1]] <- data.frame(outcome = o$name, timepoint = o$tp, moderator = m$name, term = term,
      model = model, estimate = est, std_error = se, ci_low = est - z * se, ci_high = est + z * se,
      p_value = 2 * pnorm(-abs(est / se)), p_adjusted = NA, n = nrow(dd))
  }
  if (length(terms) > 1) {
    bb <- b[terms]; W <- as.numeric(t(bb) %*% solve(V[terms, terms], bb))
    rows[[length(rows) + 1]] <- data.frame(outcome = o$name, timepoint = o$tp, moderator = m$name, term = "joint",
      model = model, estimate = NA, std_error = NA, ci_low = NA, ci_high = NA,
      p_value = pchisq(W, length(terms), lower.tail = FALSE), p_adjusted = NA, n = nrow(dd))
  }
  ll_p <- as.numeric(logLik(pois))
  ll <- as.numeric(logLik(fit))
  if (model == "negative_binomial") ll <- sum(dnbinom(dd$y, size = theta, mu = fitted(fit), log = TRUE))
  extras[[length(extras) + 1]] <- data.frame(outcome = o$name, moderator = m$name, model = model,
    theta = theta, theta_se = se_theta, loglik = ll, loglik_poisson = ll_p,
    pearson_chi2 = sum(residuals(fit, type = "pearson")^2), df_resid = fit$df.residual,
    glmnb_theta = if (model == "poisson") NA else nb$glmnb$theta,
    glmnb_estimate = if (model == "poisson") NA else coef(nb$glmnb)[[terms[1]]],
    glmnb_se = if (model == "poisson") NA else sqrt(vcov(nb$glmnb)[terms[1], terms[1]]))
}
res <- do.call(rbind, rows)
res$tier <- tier_of(res$p_value)
write_reference(res, "reference.csv")
ex <- do.call(rbind, extras)
ex[] <- lapply(ex, function(x) if (is.numeric(x)) csv_field(x) else x)
write.csv(ex, "extras.csv", row.names = FALSE, quote = FALSE)
print(res[, c("outcome", "moderator", "term", "model", "estimate", "std_error", "p_value")], digits = 8, row.names = FALSE)
print(ex)
