# Reference numbers for effectmod's Rubin pooling (tests/test_pooling.py).
# Run from this folder: Rscript ref.R   (R 4.x, mice 3.x, mitml)
# Writes the m completed nhanes2 datasets, the pooled lm and glm rows from mice::pool,
# and D1 tests from mice::D1 / mitml::testModels.
suppressPackageStartupMessages({library(mice); library(mitml)})
m <- 10
imp <- mice(nhanes2, m = m, seed = 20240611, printFlag = FALSE)
for (i in seq_len(m)) {
  d <- complete(imp, i)
  out <- data.frame(
    age2 = as.integer(d$age == "40-59"), age3 = as.integer(d$age == "60-99"),
    bmi = d$bmi, hyp = as.integer(d$hyp == "yes"), chl = d$chl)
  write.csv(out, sprintf("completed_%02d.csv", i), row.names = FALSE)
}
fmt <- function(x) formatC(x, digits = 17, format = "g")
write_pool <- function(pooled, file) {
  s <- summary(pooled)
  p <- pooled$pooled
  out <- data.frame(term = as.character(p$term), estimate = fmt(p$estimate),
                    std_error = fmt(sqrt(p$t)), df = fmt(p$df), riv = fmt(p$riv),
                    lambda = fmt(p$lambda), fmi = fmt(p$fmi), p_value = fmt(s$p.value),
                    ubar = fmt(p$ubar), b = fmt(p$b), dfcom = fmt(p$dfcom))
  write.csv(out, file, row.names = FALSE, quote = FALSE)
}

# 1. Linear model: mice takes dfcom = df.residual = 25 - 5 = 20.
fit_lm <- with(imp, lm(chl ~ age + bmi + hyp))
write_pool(pool(fit_lm), "pool_lm.csv")

# 2. Logistic model pooled with an infinite complete-data df (df = nu_old). The per-imputation
#    coefficients and covariances are written too: the test pools them without refitting.
fit_glm <- with(imp, glm(hyp ~ age + bmi, family = binomial))
write_pool(pool(fit_glm, dfcom = Inf), "pool_glm_inf.csv")
write_pool(pool(fit_glm), "pool_glm_dfres.csv")  # mice's default: dfcom = n - p = 21
rows <- list()
for (i in seq_len(m)) {
  f <- fit_glm$analyses[[i]]
  v <- vcov(f)
  rows[[i]] <- data.frame(imputation = i, term = names(coef(f)), estimate = fmt(coef(f)),
                          matrix(fmt(v), nrow = nrow(v), dimnames = list(NULL, paste0("v", seq_len(ncol(v))))))
}
write.csv(do.call(rbind, rows), "glm_fits.csv", row.names = FALSE, quote = FALSE)

# 3. D1 tests of age (2 parameters).
fit_lm0 <- with(imp, lm(chl ~ bmi + hyp))
d1_lm <- D1(fit_lm, fit_lm0)          # Reiter df with dfcom = 20
fit_glm0 <- with(imp, glm(hyp ~ bmi, family = binomial))
d1_glm <- testModels(as.mitml.result(fit_glm), as.mitml.result(fit_glm0), method = "D1")  # LRR df
d1_glm_dfres <- D1(fit_glm, fit_glm0)  # Reiter df with dfcom = 21
d1 <- rbind(d1_lm$result, d1_glm$test, d1_glm_dfres$result)
out <- data.frame(case = c("lm_reiter", "glm_lrr", "glm_reiter"),
                  F = fmt(d1[, 1]), df1 = fmt(d1[, 2]), df2 = fmt(d1[, 3]),
                  p_value = fmt(d1[, 4]), riv = fmt(d1[, 5]))
write.csv(out, "d1.csv", row.names = FALSE, quote = FALSE)
