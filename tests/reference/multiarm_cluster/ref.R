## Reference results for the effectmod validation case 'multiarm_cluster' (a three-arm
## cluster-randomised trial). Run inside this folder:  Rscript ref.R  (or ../regenerate.sh multiarm_cluster).
##
## Data: ../cluster_achievement/data.csv (clubSandwich::AchievementAwardsRCT, 2001 cohort, 3821
## students in 39 schools) with a constructed, deterministic school-level assignment written into
## data.csv as column `arm`: school_id %% 3 == 0 -> "control", 1 -> "A", 2 -> "B" (13 schools
## each). The outcomes are the real ones, so the arms' "effects" are artificial; the case checks
## the arithmetic of multi-arm x cluster inference, not the trial.
##
## One model per outcome x moderator with all three arms (arm a factor, control first):
##   continuous outcome: lm(Y ~ arm * M); CR2 (clubSandwich::vcovCR, cluster = school_id);
##     each arm x moderator coefficient by coef_test(test = "Satterthwaite");
##     categorical moderator, per comparison: Wald_test HTZ of that arm's k-1 coefficients;
##     `all arms`: Wald_test HTZ of every arm x moderator coefficient.
##   binary outcome: glm(binomial, epsilon 1e-14); CR0 cluster sandwich without small-sample
##     factor, sandwich::vcovCL(type = "HC0", cadjust = FALSE); Wald z rows; chi-square joint
##     rows (per comparison for categorical moderators, and `all arms`).
## Writes data.csv and reference.csv (results columns plus comparison, statistic, df_num, df).
## Needs R (>= 4.2) with yaml, sandwich and clubSandwich.
source("../common.R")

d0 <- read_data("../cluster_achievement/data.csv")
d0$arm <- c("control", "A", "B")[d0$school_id %% 3 + 1]
write.csv(d0, "data.csv", row.names = FALSE, quote = TRUE, na = "")

p <- yaml::read_yaml("plan.yaml")
d <- read_data("data.csv")
arms <- unlist(p$data$treated)
control <- p$data$control
d$armf <- factor(d[[p$data$treatment]], levels = c(control, arms))
school <- d[[p$data$cluster]]

rows <- list()
add <- function(o, t, mod, model, term, cmp, est, s, lo, hi, pv, n, stat, dfn, dfd) {
  rows[[length(rows) + 1]] <<- data.frame(outcome = o, timepoint = t, moderator = mod, term = term,
    model = model, comparison = cmp, estimate = est, std_error = s, ci_low = lo, ci_high = hi,
    p_value = pv, n = n, statistic = stat, df_num = dfn, df = dfd)
}
for (o in p$outcomes) {
  binary <- o$type == "binary"
  model <- if (binary) "logistic" else "linear"
  for (t in names(o$followups)) {
    y <- code_outcome(d[[o$followups[[t]]]], list(type = o$type, event = as.character(o$event)))
    for (mod in p$moderators) {
      cm <- code_moderator(d[[mod$column]], list(type = mod$type, name = mod$name,
                                                 reference = as.character(mod$reference)))
      f <- data.frame(Y = y, arm = d$armf, school = school)
      f$M <- cm$x
      f <- f[complete.cases(f), , drop = FALSE]
      cat_mod <- mod$type == "categorical"
      labels <- if (cat_mod) cm$levels[-1] else ""
      n <- nrow(f)
      if (!binary) {
        fit <- lm(Y ~ arm * M, data = f)
        V <- clubSandwich::vcovCR(fit, cluster = f$school, type = "CR2")
        ct <- clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")
        rownames(ct) <- names(coef(fit))
      } else {
        fit <- glm(Y ~ arm * M, data = f, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
        stopifnot(fit$converged)
        V <- sandwich::vcovCL(fit, cluster = ~school, type = "HC0", cadjust = FALSE)
      }
      b <- coef(fit)
      all_terms <- c()
      for (a in arms) {
        cmp <- paste(a, "vs", control)
        terms <- if (cat_mod) paste0("arm", a, ":M", labels) else paste0("arm", a, ":M")
        all_terms <- c(all_terms, terms)
        for (i in seq_along(terms)) {
          if (!binary) {
            r <- ct[terms[i], ]
            est <- r$beta; s <- r$SE; df <- r$df_Satt; pv <- r$p_Satt
            q <- qt(1 - (1 - CI_LEVEL) / 2, df)
          } else {
            est <- unname(b[terms[i]]); s <- sqrt(V[terms[i], terms[i]]); df <- Inf
            pv <- 2 * pnorm(-abs(est / s)); q <- qnorm(1 - (1 - CI_LEVEL) / 2)
          }
          add(o$name, t, mod$name, model, labels[i], cmp, est, s, est - q * s, est + q * s, pv, n, NA, NA, df)
        }
        if (cat_mod) {
          if (!binary) {
            w <- clubSandwich::Wald_test(fit, constraints = clubSandwich::constrain_zero(terms), vcov = V, test = "HTZ")
            add(o$name, t, mod$name, model, "joint", cmp, NA, NA, NA, NA, w$p_val, n, w$Fstat, w$df_num, w$df_denom)
          } else {
            W <- drop(crossprod(b[terms], solve(V[terms, terms], b[terms])))
            add(o$name, t, mod$name, model, "joint", cmp, NA, NA, NA, NA,
                pchisq(W, length(terms), lower.tail = FALSE), n, W, length(terms), Inf)
          }
        }
      }
      if (!binary) {
        w <- clubSandwich::Wald_test(fit, constraints = clubSandwich::constrain_zero(all_terms), vcov = V, test = "HTZ")
        add(o$name, t, mod$name, model, "joint", "all arms", NA, NA, NA, NA, w$p_val, n, w$Fstat, w$df_num, w$df_denom)
      } else {
        W <- drop(crossprod(b[all_terms], solve(V[all_terms, all_terms], b[all_terms])))
        add(o$name, t, mod$name, model, "joint", "all arms", NA, NA, NA, NA,
            pchisq(W, length(all_terms), lower.tail = FALSE), n, W, length(all_terms), Inf)
      }
    }
  }
}
res <- do.call(rbind, rows)
res$p_adjusted <- NA
res$tier <- tier_of(res$p_value)
cols <- c(RESULT_COLUMNS, "comparison", "statistic", "df_num", "df")
lines <- do.call(paste, c(lapply(cols, function(c) {
  if (c == "n") as.character(as.integer(res$n))
  else if (c == "df") ifelse(is.infinite(res$df), "Inf", csv_field(res$df))
  else csv_field(res[[c]])
}), sep = ","))
writeLines(c(paste(cols, collapse = ","), lines), "reference.csv")
print(res[, c("outcome", "moderator", "term", "comparison", "estimate", "std_error", "p_value", "statistic", "df")],
      digits = 6, row.names = FALSE)

## analysis.cluster_decomposition in a three-arm model (plan_decomposition.yaml: plan.yaml with the
## key set): ../decomposition.R with arm the three-level factor, so each comparison's within and
## between interactions come from one model with every arm; categorical moderators through their
## level indicators (joint rows per comparison and term). sector is school-level (no within part;
## effectmod leaves it empty with a note). Writes reference_decomposition.csv.
source("../decomposition.R")
stopifnot(isTRUE(yaml::read_yaml("plan_decomposition.yaml")$analysis$cluster_decomposition))
dec <- list()
for (o in p$outcomes) {
  family <- if (o$type == "binary") "binomial" else "gaussian"
  for (t in names(o$followups)) {
    y <- code_outcome(d[[o$followups[[t]]]], list(type = o$type, event = as.character(o$event)))
    for (mod in p$moderators) {
      if (mod$name == "sector") next
      cm <- code_moderator(d[[mod$column]], list(type = mod$type, name = mod$name,
                                                 reference = as.character(mod$reference)))
      labels <- if (mod$type == "categorical") cm$levels[-1] else ""
      r <- decomposed_rows(y, d$armf, school, cm$x, family, labels)
      dec[[length(dec) + 1]] <- cbind(outcome = o$name, timepoint = t, moderator = mod$name,
        model = if (family == "binomial") "logistic" else "linear", r, n = length(y))
    }
  }
}
dec <- do.call(rbind, dec)
write_decomposition(dec, "reference_decomposition.csv")
print(dec[, c("outcome", "moderator", "term", "level", "comparison", "estimate", "p_value", "df")], digits = 6, row.names = FALSE)
