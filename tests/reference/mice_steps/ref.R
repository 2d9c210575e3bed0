# Reference numbers for effectmod's MICE steps (tests/test_mice_steps.py), from mice's own
# internals. Run from this folder: Rscript ref.R   (R 4.x, mice 3.x, nnet)
# Writes the fixed inputs (inputs.csv) and, on them:
#  deterministic pieces: mice:::estimice (qr, as mice.impute.norm/pmm use it, and ridge, as
#    effectmod uses it), mice:::augment, the weighted glm.fit of mice.impute.logreg (coef and
#    cov.unscaled before the draw), the nnet::multinom fit of mice.impute.polyreg (coefficients,
#    with mice's default settings and converged tightly) and its predicted probabilities;
#  distributions over NDRAW calls of mice.impute.norm / pmm / logreg (set.seed): per imputed
#    value its mean, variance and fourth central moment, and for pmm the share of each donor.
suppressPackageStartupMessages({library(mice); library(nnet)})
NDRAW <- 4000
fmt <- function(x) trimws(formatC(x, digits = 17, format = "g"))
write_num <- function(d, file) {
  for (j in names(d)) if (is.double(d[[j]])) d[[j]] <- fmt(d[[j]])
  write.csv(d, file, row.names = FALSE, quote = FALSE)
}

# 1. Fixed inputs: 40 rows, predictors x1, x2 (normal) and x3 (a binary with mean 0.15, so
#    augment's clipping to the range binds), a continuous y with 10 missing, a binary y with 10
#    missing (both levels observed) and a 3-level categorical y (codes 0..2) with 10 missing.
set.seed(20261201)
n <- 40
x1 <- round(rnorm(n), 3)
x2 <- round(rnorm(n), 3)
x3 <- as.numeric(seq_len(n) %% 7 == 0 | seq_len(n) == 1)
y_cont <- round(1 + 0.8 * x1 - 0.5 * x2 + 0.7 * x3 + rnorm(n), 3)
y_bin <- as.numeric(runif(n) < plogis(0.2 + 1.0 * x1 - 0.6 * x2))
eta <- cbind(0, 0.3 + 0.9 * x1, -0.2 - 0.8 * x2 + 0.5 * x3)
y_cat <- apply(exp(eta) / rowSums(exp(eta)), 1, function(p) sample(0:2, 1, prob = p))
y_cont[c(3, 7, 12, 18, 21, 25, 29, 33, 36, 40)] <- NA
y_bin[c(2, 5, 11, 16, 20, 24, 27, 31, 35, 38)] <- NA
y_cat[c(4, 6, 9, 14, 19, 23, 26, 30, 34, 39)] <- NA
inputs <- data.frame(intercept = 1, x1 = x1, x2 = x2, x3 = x3,
                     y_cont = y_cont, y_bin = y_bin, y_cat = y_cat)
write.csv(inputs, "inputs.csv", row.names = FALSE, na = "")
inputs <- read.csv("inputs.csv")  # from here on, exactly the numbers of the file
x <- as.matrix(inputs[, c("x1", "x2", "x3")])  # predictors; mice adds the intercept itself
X <- cbind(1, x)

# 2. estimice on the continuous y's observed rows.
ry <- !is.na(inputs$y_cont)
yo <- inputs$y_cont[ry]
rows <- list()
for (meth in c("qr", "ridge")) {
  p <- mice:::estimice(X[ry, , drop = FALSE], yo, ls.meth = meth)
  q <- ncol(X)
  coef <- as.vector(p$c)
  rows[[meth]] <- data.frame(
    ls_meth = meth, term = c("(Intercept)", colnames(x)), coef = coef,
    v = I(matrix(p$v, q)), ss = sum(p$r^2), df = p$df)
}
est <- do.call(rbind, lapply(rows, function(r) {
  data.frame(ls_meth = r$ls_meth, term = r$term, coef = r$coef, v1 = r$v[, 1], v2 = r$v[, 2],
             v3 = r$v[, 3], v4 = r$v[, 4], ss = r$ss, df = r$df)
}))
write_num(est, "estimice.csv")
res <- data.frame(row = which(ry),
                  resid_qr = as.vector(mice:::estimice(X[ry, ], yo, ls.meth = "qr")$r),
                  resid_ridge = as.vector(mice:::estimice(X[ry, ], yo, ls.meth = "ridge")$r))
write_num(res, "estimice_resid.csv")

# 3. augment, for the binary y (levels 0, 1) and the categorical y (0, 1, 2), on all rows of x.
aug_out <- list()
for (v in c("y_bin", "y_cat")) {
  y <- inputs[[v]]
  a <- mice:::augment(y, !is.na(y), x, is.na(y))
  k <- seq_len(nrow(a$x)) > n
  aug_out[[v]] <- data.frame(variable = v, row = seq_len(sum(k)), x1 = a$x$x1[k],
                             x2 = a$x$x2[k], x3 = a$x$x3[k], y = a$y[k], w = a$w[k])
}
write_num(do.call(rbind, aug_out), "augment.csv")

# 4. The weighted quasibinomial glm.fit of mice.impute.logreg, as it calls it and converged tightly.
y <- inputs$y_bin
a <- mice:::augment(y, !is.na(y), x, is.na(y))
Xa <- cbind(1, as.matrix(a$x))
glm_rows <- list()
for (ctl in c("mice", "tight")) {
  control <- if (ctl == "mice") glm.control() else glm.control(epsilon = 1e-15, maxit = 200)
  fit <- suppressWarnings(glm.fit(x = Xa[a$ry, , drop = FALSE], y = a$y[a$ry],
                                  family = quasibinomial(link = logit), weights = a$w[a$ry],
                                  control = control))
  s <- summary.glm(fit)
  V <- s$cov.unscaled
  glm_rows[[ctl]] <- data.frame(fit = ctl, term = c("(Intercept)", colnames(x)), coef = coef(fit),
                                v1 = V[, 1], v2 = V[, 2], v3 = V[, 3], v4 = V[, 4],
                                iter = fit$iter)
}
write_num(do.call(rbind, glm_rows), "logreg_fit.csv")

# 5. The nnet::multinom fit of mice.impute.polyreg on the augmented data (mice's settings:
#    maxit = 100; and converged as far as its BFGS goes), with the minimised objective (the weighted
#    negative log-likelihood) and convergence code, and mice's predicted probabilities of the
#    missing rows (mice.impute.polyreg draws the levels from these: no draw of the coefficients).
y <- factor(inputs$y_cat)
a <- mice:::augment(y, !is.na(y), x, is.na(y))
xy <- cbind.data.frame(y = a$y, x = a$x)
mn_rows <- list()
probs <- NULL
for (ctl in c("mice", "tight")) {
  fit <- if (ctl == "mice") {
    multinom(formula(xy), data = xy[a$ry, , drop = FALSE], weights = a$w[a$ry], maxit = 100,
             trace = FALSE, MaxNWts = 1500)
  } else {
    multinom(formula(xy), data = xy[a$ry, , drop = FALSE], weights = a$w[a$ry], maxit = 10000,
             trace = FALSE, MaxNWts = 1500, abstol = 1e-300, reltol = 1e-15)
  }
  cf <- coef(fit)
  for (lev in rownames(cf)) {
    mn_rows[[paste(ctl, lev)]] <- data.frame(fit = ctl, level = lev,
                                             term = c("(Intercept)", colnames(x)),
                                             coef = as.vector(cf[lev, ]), value = fit$value,
                                             convergence = fit$convergence)
  }
  if (ctl == "mice") {
    post <- predict(fit, xy[a$wy, , drop = FALSE], type = "probs")
    probs <- data.frame(row = which(is.na(inputs$y_cat)), p0 = post[, 1], p1 = post[, 2],
                        p2 = post[, 3])
  }
}
write_num(do.call(rbind, mn_rows), "polyreg_fit.csv")
write_num(probs, "polyreg_probs.csv")

# 6. Distributions over NDRAW calls of the stochastic steps on the same data.
moments <- function(draws, rows, method) {
  mu <- colMeans(draws)
  cen <- sweep(draws, 2, mu)
  data.frame(method = method, row = rows, mean = mu, var = colMeans(cen^2),
             m4 = colMeans(cen^4), n = nrow(draws))
}
yc <- inputs$y_cont
ryc <- !is.na(yc)
set.seed(1)
d_norm <- t(replicate(NDRAW, as.vector(mice.impute.norm(yc, ryc, x))))
set.seed(2)
d_pmm <- t(replicate(NDRAW, as.vector(mice.impute.pmm(yc, ryc, x))))
yb <- inputs$y_bin
set.seed(3)
d_log <- t(replicate(NDRAW, as.vector(mice.impute.logreg(yb, !is.na(yb), x))))
write_num(rbind(moments(d_norm, which(!ryc), "norm"), moments(d_pmm, which(!ryc), "pmm"),
                moments(d_log, which(is.na(yb)), "logreg")), "draws.csv")
donors <- sort(unique(yc[ryc]))
share <- do.call(rbind, lapply(seq_len(ncol(d_pmm)), function(i) {
  data.frame(row = which(!ryc)[i], donor = donors,
             share = vapply(donors, function(d) mean(d_pmm[, i] == d), 0.0))
}))
write_num(share[share$share > 0, ], "pmm_donors.csv")
