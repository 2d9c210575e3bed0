## Reference results for the effectmod validation case 'arms3_counts' (three-arm count and
## ordinal outcomes, and count / Cox-free cluster checks; CONTRACT 6.2-6.3).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh arms3_counts)
## data.csv is SIMULATED here (set.seed below; 360 participants, arms control / low / high, 30
## sites): `seizures` a negative-binomial count over `days` of exposure with a baseline count
## `base`; `severity` an ordinal outcome absent < mild < moderate < severe; moderators `x`
## (continuous), `female` (binary) and `grp` (categorical a/b/c, reference a).
## One model per outcome x moderator with every arm (arm a factor, control first):
##   poisson            glm(seizures ~ arm * mod + base + offset(log(days)), poisson)
##   negative_binomial  MASS::glm.nb(same), polished to the exact joint maximum (as epil_count)
##   ordinal            ordinal::clm(severity ~ arm * mod), logit link
##   poisson_cr0        the Poisson fit with sandwich::vcovCL(cluster = ~site, type = "HC0", cadjust = FALSE)
##   negative_binomial_cr0  the same sandwich on MASS::glm.nb (theta known), estimates of the exact joint maximum
##   ordinal_cr0        clm's fit with the CR0 cluster sandwich V M V: V = vcov(clm) (thresholds and
##                      coefficients), M = sum over sites of the summed analytic score contributions
##                      (d log P(y_i) / d theta_j and / d beta; no small-sample factor)
## absolute.csv: per comparison, marginal standardisation over that comparison's two arms'
##   participants with the three-arm fit (moderator female): the Poisson rate (exp(x'b), no offset)
##   difference interaction with its delta-method SE, and the clm category probabilities per arm
##   within each level.
## Rows per comparison: arm<k>:mod coefficient(s), Wald z; categorical: the comparison's joint
## chi-square; and the `all arms` joint Wald chi-square of every arm x moderator coefficient.
options(warn = 1, stringsAsFactors = FALSE)
num <- function(x) formatC(x, digits = 17, format = "g")
write_num_csv <- function(df, path) {
  for (c in names(df)) if (is.numeric(df[[c]])) df[[c]] <- ifelse(is.na(df[[c]]), "", num(df[[c]]))
  write.csv(df, path, row.names = FALSE, quote = TRUE, na = "")
}
set.seed(20261201)
n <- 360
arm <- rep(c("control", "low", "high"), each = n / 3)
site <- sample(1:30, n, replace = TRUE)
u <- rnorm(30, 0, 0.3)[site]
x <- round(rnorm(n, 50, 10), 1)
female <- rbinom(n, 1, 0.5)
grp <- sample(c("a", "b", "c"), n, replace = TRUE)
days <- sample(c(60, 90), n, replace = TRUE)
base <- rpois(n, 6)
eta <- -3 + 0.08 * base + 0.3 * (arm == "low") - 0.4 * (arm == "high") + 0.01 * (x - 50) -
  0.02 * (arm == "high") * (x - 50) + 0.3 * (arm == "low") * (grp == "c") + u + log(days)
seizures <- rnbinom(n, size = 3, mu = exp(eta))
lat <- 0.5 * (arm == "high") + 0.3 * (grp == "b") - 0.8 * (arm == "low") * (grp == "c") +
  0.02 * (arm == "high") * (x - 50) + u + rlogis(n)
severity <- c("absent", "mild", "moderate", "severe")[cut(lat, c(-Inf, -0.5, 0.7, 1.8, Inf), labels = FALSE)]
seizures[c(7, 200)] <- NA; severity[c(15, 300)] <- NA; x[c(33)] <- NA
d0 <- data.frame(id = seq_len(n), arm = arm, site = site, x = x, female = female, grp = grp, days = days,
                 base = base, seizures = seizures, severity = severity)
write.csv(d0, "data.csv", row.names = FALSE, quote = TRUE, na = "")

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
  glm(f, data = dd, family = MASS::negative.binomial(th), control = glm.control(epsilon = 1e-15, maxit = 200),
      start = coef(fit))
}
z <- qnorm(0.975)
row_of <- function(model, outcome, mod, term, cmp, est, se, p, n, stat = NA, df = NA)
  data.frame(model = model, outcome = outcome, moderator = mod, term = term, comparison = cmp, estimate = est,
             std_error = se, ci_low = est - z * se, ci_high = est + z * se, p_value = p, n = n, statistic = stat, df_num = df)
joint <- function(model, outcome, mod, cmp, b, V, n) {
  w <- as.numeric(t(b) %*% solve(V, b))
  row_of(model, outcome, mod, "joint", cmp, NA, NA, pchisq(w, length(b), lower.tail = FALSE), n, w, length(b))
}
## arms, moderators and ordinal levels as the plans declare them (the files effectmod reads)
plans <- lapply(c(base = "plan.yaml", nb = "plan_nb.yaml", cl = "plan_cluster.yaml", nbcl = "plan_nb_cluster.yaml"),
                yaml::read_yaml)
arms <- unlist(plans$base$data$treated); control <- plans$base$data$control
stopifnot(control == "control", plans$nb$analysis$count_model == "negative_binomial",
          plans$cl$data$cluster == "site", plans$nbcl$data$cluster == "site",
          plans$nbcl$analysis$count_model == "negative_binomial")
sev_levels <- unlist(plans$base$outcomes[[2]]$levels)
mods <- lapply(plans$base$moderators, function(m) c(m$column, m$type))
rows <- NULL
for (model in c("poisson", "negative_binomial", "poisson_cr0", "negative_binomial_cr0", "ordinal", "ordinal_cr0")) for (mm in mods) {
  mod <- mm[1]; type <- mm[2]
  ordinal <- model %in% c("ordinal", "ordinal_cr0")
  outcome <- if (ordinal) "severity" else "seizures"
  need <- if (ordinal) c("severity", mod) else c("seizures", "days", "base", mod)
  d <- d0[complete.cases(d0[, need]), ]
  d$arm <- factor(d$arm, levels = c(control, arms))
  d$m <- if (type == "categorical") factor(d[[mod]]) else d[[mod]]
  if (type == "continuous") d$m <- d$m - (min(d$m) + max(d$m)) / 2
  f <- seizures ~ arm * m + base + offset(log(days))
  if (ordinal) {
    d$severity <- factor(d$severity, levels = sev_levels, ordered = TRUE)
    fit <- ordinal::clm(severity ~ arm * m, data = d, link = "logit", control = ordinal::clm.control(gradTol = 1e-12))
    b <- coef(fit); V <- vcov(fit)
    if (model == "ordinal_cr0") {
      X <- model.matrix(~ arm * m, d)[, -1, drop = FALSE]
      stopifnot(identical(colnames(X), names(fit$beta)))
      th <- c(-Inf, fit$alpha, Inf); k <- as.integer(d$severity); eta <- drop(X %*% fit$beta)
      hi <- th[k + 1] - eta; lo <- th[k] - eta
      P <- plogis(hi) - plogis(lo); fh <- dlogis(hi); fl <- dlogis(lo)
      S <- matrix(0, nrow(d), length(fit$alpha))
      for (j in seq_along(fit$alpha)) S[, j] <- (fh * (k == j) - fl * (k == j + 1)) / P
      S <- cbind(S, -X * (fh - fl) / P)
      G <- rowsum(S, d$site)
      V <- V %*% crossprod(G) %*% V
      dimnames(V) <- list(names(b), names(b))
    }
  } else if (model == "negative_binomial") {
    fit <- nb_exact(f, d); b <- coef(fit); V <- summary(fit, dispersion = 1)$cov.scaled   # as vcov(glm.nb): theta known
  } else if (model == "negative_binomial_cr0") {
    ## glm.nb's fit (class negbin: sandwich's bread has dispersion 1), theta known; estimates checked equal to nb_exact's
    fit <- MASS::glm.nb(f, data = d, control = glm.control(epsilon = 1e-14, maxit = 200))
    stopifnot(max(abs(coef(fit) - coef(nb_exact(f, d)))) < 1e-6)
    b <- coef(nb_exact(f, d))
    V <- sandwich::vcovCL(fit, cluster = ~site, type = "HC0", cadjust = FALSE)
  } else {
    fit <- glm(f, data = d, family = poisson, control = glm.control(epsilon = 1e-15, maxit = 100))
    b <- coef(fit)
    V <- if (model == "poisson_cr0") sandwich::vcovCL(fit, cluster = ~site, type = "HC0", cadjust = FALSE) else vcov(fit)
  }
  terms <- if (type == "categorical") levels(d$m)[-1] else ""
  nn <- nrow(d); all_idx <- c()
  for (a in arms) {
    idx <- which(startsWith(names(b), paste0("arm", a, ":m")))
    all_idx <- c(all_idx, idx); cmp <- paste(a, "vs", control)
    for (j in seq_along(idx)) {
      est <- b[[idx[j]]]; se <- sqrt(V[idx[j], idx[j]])
      rows <- rbind(rows, row_of(model, outcome, mod, terms[j], cmp, est, se, 2 * pnorm(-abs(est / se)), nn))
    }
    if (type == "categorical") rows <- rbind(rows, joint(model, outcome, mod, cmp, b[idx], V[idx, idx], nn))
  }
  rows <- rbind(rows, joint(model, outcome, mod, "all arms", b[all_idx], V[all_idx, all_idx], nn))
}
write_num_csv(rows, "reference.csv")

## ---- absolute scale per comparison (moderator female) ----
abs_rows <- NULL
d <- d0[complete.cases(d0[, c("seizures", "days", "base", "female")]), ]
d$arm <- factor(d$arm, levels = c(control, arms)); d$m <- d$female
fit <- glm(seizures ~ arm * m + base + offset(log(days)), data = d, family = poisson,
           control = glm.control(epsilon = 1e-15, maxit = 100))
b <- coef(fit); V <- vcov(fit)
do <- d0[complete.cases(d0[, c("severity", "female")]), ]
do$arm <- factor(do$arm, levels = c(control, arms)); do$m <- do$female
do$severity <- factor(do$severity, levels = sev_levels, ordered = TRUE)
ofit <- ordinal::clm(severity ~ arm * m, data = do, link = "logit", control = ordinal::clm.control(gradTol = 1e-12))
for (a in arms) {
  cmp <- paste(a, "vs", control)
  pair <- d[d$arm %in% c(control, a), ]
  Zof <- function(dd, arm_, m_) { dd$arm <- factor(rep(arm_, nrow(dd)), levels = levels(d$arm)); dd$m <- m_
                                  model.matrix(~ arm * m + base, dd) }
  rate <- function(arm_, m_) { Z <- Zof(pair, arm_, m_); mu <- exp(drop(Z %*% b)); list(r = mean(mu), g = colMeans(Z * mu)) }
  r11 <- rate(a, 1); r01 <- rate(control, 1); r10 <- rate(a, 0); r00 <- rate(control, 0)
  est <- (r11$r - r01$r) - (r10$r - r00$r); g <- (r11$g - r01$g) - (r10$g - r00$g)
  abs_rows <- rbind(abs_rows, data.frame(comparison = cmp, quantity = "rd_interaction", level = "1", arm = "", category = "",
                                         estimate = est, std_error = sqrt(drop(t(g) %*% V %*% g))))
  opair <- do[do$arm %in% c(control, a), ]
  for (lv in c(0, 1)) for (who in c("treated", "control")) {
    dd <- opair; dd$arm <- factor(rep(if (who == "treated") a else control, nrow(dd)), levels = levels(do$arm)); dd$m <- lv
    Z <- model.matrix(~ arm * m, dd)[, -1, drop = FALSE]
    eta <- drop(Z %*% ofit$beta[colnames(Z)])
    cum <- cbind(0, sapply(ofit$alpha, function(th) plogis(th - eta)), 1)
    pr <- colMeans(cum[, -1, drop = FALSE] - cum[, -ncol(cum), drop = FALSE])
    abs_rows <- rbind(abs_rows, data.frame(comparison = cmp, quantity = "probability", level = as.character(lv), arm = who,
                                           category = sev_levels, estimate = pr, std_error = NA))
  }
}
write_num_csv(abs_rows, "absolute.csv")
print(rows, digits = 6)
