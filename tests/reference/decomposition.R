## Within/between-cluster decomposition of a moderator (effectmod's analysis.cluster_decomposition),
## shared by cluster_achievement/ref.R and multiarm_cluster/ref.R (source("../decomposition.R")).
##
## decomposed_rows(y, arm, school, M, family, labels): arm a factor (control first; two levels for a
## two-arm trial), M numeric (continuous or 0/1 binary moderator) or a factor (categorical: each
## non-reference level's indicator D is decomposed). For each moderator column D:
##   DW = D - ave(D, school) (within), DB = ave(D, school) (between), each with its arm interactions:
##   y ~ arm + DW_1 + DB_1 + ... + arm:DW_1 + arm:DB_1 + ...
## linear: lm, clubSandwich CR2, coef_test Satterthwaite; joint (categorical, per term and arm):
##   Wald_test HTZ of the level coefficients. logistic: glm (epsilon 1e-14), sandwich::vcovCL HC0
##   cadjust = FALSE, Wald z; joint: chi-square Wald.
## Returns one row per arm x level x term (within, between) with estimate, std_error, ci_low,
## ci_high, p_value, df and the columns term, level, comparison.
decomposed_rows <- function(y, arm, school, M, family, labels, ci_level = 0.95) {
  cat_mod <- is.factor(M)
  D <- if (cat_mod) sapply(levels(M)[-1], function(l) as.numeric(M == l)) else matrix(as.numeric(M), ncol = 1)
  D <- matrix(D, nrow = length(y))
  k <- ncol(D)
  f <- data.frame(Y = y, arm = arm, school = school)
  for (j in seq_len(k)) {
    f[[paste0("DB", j)]] <- ave(D[, j], school)
    f[[paste0("DW", j)]] <- D[, j] - f[[paste0("DB", j)]]
  }
  mains <- unlist(lapply(seq_len(k), function(j) c(paste0("DW", j), paste0("DB", j))))
  form <- as.formula(paste("Y ~ arm +", paste(mains, collapse = " + "), "+",
                           paste(paste0("arm:", mains), collapse = " + ")))
  if (family == "gaussian") {
    fit <- lm(form, data = f)
    V <- clubSandwich::vcovCR(fit, cluster = f$school, type = "CR2")
    ct <- clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")
    rownames(ct) <- names(coef(fit))
  } else {
    fit <- glm(form, data = f, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
    stopifnot(fit$converged)
    V <- sandwich::vcovCL(fit, cluster = ~school, type = "HC0", cadjust = FALSE)
  }
  b <- coef(fit)
  stopifnot(!anyNA(b))
  rows <- list()
  control <- levels(arm)[1]
  for (a in levels(arm)[-1]) {
    cmp <- if (nlevels(arm) > 2) paste(a, "vs", control) else ""
    for (j in seq_len(k + cat_mod)) {
      for (term in c("within", "between")) {
        w <- if (term == "within") "DW" else "DB"
        if (j <= k) {
          nm <- paste0("arm", a, ":", w, j)
          if (family == "gaussian") {
            r <- ct[nm, ]; est <- r$beta; s <- r$SE; df <- r$df_Satt; p <- r$p_Satt; q <- qt(1 - (1 - ci_level) / 2, df)
          } else {
            est <- unname(b[nm]); s <- sqrt(V[nm, nm]); df <- Inf; p <- 2 * pnorm(-abs(est / s)); q <- qnorm(1 - (1 - ci_level) / 2)
          }
          rows[[length(rows) + 1]] <- data.frame(term = term, level = labels[j], comparison = cmp, estimate = est,
            std_error = s, ci_low = est - q * s, ci_high = est + q * s, p_value = p, df = df)
        } else {
          nms <- paste0("arm", a, ":", w, seq_len(k))
          if (family == "gaussian") {
            t <- clubSandwich::Wald_test(fit, constraints = clubSandwich::constrain_zero(nms), vcov = V, test = "HTZ")
            p <- t$p_val; df <- t$df_denom
          } else {
            W <- drop(crossprod(b[nms], solve(V[nms, nms], b[nms]))); p <- pchisq(W, k, lower.tail = FALSE); df <- Inf
          }
          rows[[length(rows) + 1]] <- data.frame(term = term, level = "joint", comparison = cmp, estimate = NA,
            std_error = NA, ci_low = NA, ci_high = NA, p_value = p, df = df)
        }
      }
    }
  }
  do.call(rbind, rows)
}

write_decomposition <- function(dec, file) {
  cols <- names(dec)
  lines <- do.call(paste, c(lapply(cols, function(c) {
    if (c == "n") as.character(dec$n) else if (c == "df") ifelse(is.infinite(dec$df), "Inf", csv_field(dec$df)) else csv_field(dec[[c]])
  }), sep = ","))
  writeLines(c(paste(cols, collapse = ","), lines), file)
}
