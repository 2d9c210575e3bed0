## Reference results for the effectmod validation case 'cluster_achievement'.
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh cluster_achievement)
## Writes data.csv (clubSandwich::AchievementAwardsRCT, the 2001 cohort: 3821 students in 39
## schools randomised by school; Angrist & Lavy 2009; plus father_ed_band, father's years of
## education in three bands), then reads plan.yaml and writes
## reference.csv (the results columns plus df).
##   continuous outcome: lm(Y ~ TR * M); CR2 (identity working model) with Satterthwaite df,
##     clubSandwich::coef_test(fit, vcov = "CR2", cluster = school, test = "Satterthwaite");
##     categorical moderator joint row: clubSandwich::Wald_test(..., test = "HTZ").
##   binary outcome: glm(binomial) with the CR0 cluster sandwich without any small-sample factor,
##     sandwich::vcovCL(fit, cluster = ~school, type = "HC0", cadjust = FALSE) (checked against
##     clubSandwich's CR0); Wald z CI and p; joint row: chi-square Wald test.
## Needs R (>= 4.2) with yaml, sandwich and clubSandwich.
source("../common.R")

d0 <- as.data.frame(clubSandwich::AchievementAwardsRCT)
d0 <- d0[d0$year == "2001", c("school_id", "school_type", "pair", "treated", "student_id", "sex",
                              "siblings", "immigrant", "father_ed", "mother_ed", "Bagrut_status",
                              "attempted", "awarded", "lagscore", "qrtl")]
d0$qrtl <- as.character(d0$qrtl)
## a participant-level categorical moderator: father's years of education in three bands
d0$father_ed_band <- as.character(cut(d0$father_ed, c(-1, 8, 12, 30), labels = c("0-8", "9-12", "13+")))
write.csv(d0, "data.csv", row.names = FALSE, quote = TRUE, na = "")

p <- yaml::read_yaml("plan.yaml")
spec <- list(id = p$data$id, treatment = p$data$treatment, treated = as.character(p$data$treated),
             control = as.character(p$data$control))
d <- select_arms(read_data("data.csv"), spec)
school <- d[[p$data$cluster]]

out <- list()
for (o in p$outcomes) {
  family <- if (o$type == "binary") "binomial" else "gaussian"
  for (t in names(o$followups)) {
    y <- code_outcome(d[[o$followups[[t]]]], list(type = o$type, event = as.character(o$event)))
    for (mod in p$moderators) {
      cm <- code_moderator(d[[mod$column]], list(type = mod$type, name = mod$name,
                                                 reference = as.character(mod$reference)))
      f <- data.frame(Y = y, TR = d$.treat, school = school)
      f$M <- cm$x
      f <- f[complete.cases(f), , drop = FALSE]
      cat_mod <- mod$type == "categorical"
      terms <- if (cat_mod) paste0("TR:M", cm$levels[-1]) else "TR:M"
      labels <- if (cat_mod) cm$levels[-1] else ""
      n <- nrow(f)
      rows <- list()
      if (family == "gaussian") {
        fit <- lm(Y ~ TR * M, data = f)
        V <- clubSandwich::vcovCR(fit, cluster = f$school, type = "CR2")
        ct <- clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")
        for (i in seq_along(terms)) {
          r <- ct[terms[i], ]
          est <- r$beta; s <- r$SE; df <- r$df_Satt
          q <- qt(1 - (1 - CI_LEVEL) / 2, df)
          rows[[i]] <- cbind(row_df(labels[i], est, s, est - q * s, est + q * s, r$p_Satt, n), df = df)
        }
        if (cat_mod) {
          w <- clubSandwich::Wald_test(fit, constraints = clubSandwich::constrain_zero(terms), vcov = V, test = "HTZ")
          rows[[length(rows) + 1]] <- cbind(row_df("joint", NA, NA, NA, NA, w$p_val, n), df = w$df_denom)
        }
      } else {
        fit <- glm(Y ~ TR * M, data = f, family = binomial(), control = glm.control(epsilon = 1e-14, maxit = 100))
        stopifnot(fit$converged)
        V <- sandwich::vcovCL(fit, cluster = ~school, type = "HC0", cadjust = FALSE)
        Vcs <- clubSandwich::vcovCR(fit, cluster = f$school, type = "CR0")
        stopifnot(max(abs(V - as.matrix(Vcs))) <= 1e-8 * max(abs(V)))
        b <- coef(fit)
        for (i in seq_along(terms)) {
          est <- unname(b[terms[i]]); s <- sqrt(V[terms[i], terms[i]])
          q <- qnorm(1 - (1 - CI_LEVEL) / 2)
          rows[[i]] <- cbind(row_df(labels[i], est, s, est - q * s, est + q * s, 2 * pnorm(-abs(est / s)), n), df = Inf)
        }
        if (cat_mod) {
          bb <- b[terms]
          W <- drop(crossprod(bb, solve(V[terms, terms, drop = FALSE], bb)))
          rows[[length(rows) + 1]] <- cbind(row_df("joint", NA, NA, NA, NA,
                                                   pchisq(W, length(terms), lower.tail = FALSE), n), df = Inf)
        }
      }
      r <- do.call(rbind, rows)
      out[[length(out) + 1]] <- cbind(outcome = o$name, timepoint = t, moderator = mod$name,
                                      model = if (family == "binomial") "logistic" else "linear", r)
    }
  }
}
res <- do.call(rbind, out)
res$p_adjusted <- NA
res$tier <- tier_of(res$p_value)
cols <- c(RESULT_COLUMNS, "df")
lines <- do.call(paste, c(lapply(cols, function(c) {
  if (c == "n") as.character(as.integer(res$n)) else if (c == "df") ifelse(is.infinite(res$df), "Inf", csv_field(res$df)) else csv_field(res[[c]])
}), sep = ","))
writeLines(c(paste(cols, collapse = ","), lines), "reference.csv")
print(res[, c("outcome", "moderator", "term", "estimate", "std_error", "p_value", "df")], digits = 6, row.names = FALSE)

## analysis.cluster_decomposition (plan_decomposition.yaml: the same plan with the key set):
## each continuous or binary moderator as its cluster-mean-centred value (within) and its cluster
## mean (between), each with its treatment interaction; same variances as above.
## Writes reference_decomposition.csv.
stopifnot(isTRUE(yaml::read_yaml("plan_decomposition.yaml")$analysis$cluster_decomposition))
dec <- list()
for (o in p$outcomes) {
  family <- if (o$type == "binary") "binomial" else "gaussian"
  for (t in names(o$followups)) {
    y <- code_outcome(d[[o$followups[[t]]]], list(type = o$type, event = as.character(o$event)))
    for (mod in p$moderators) {
      if (mod$type == "categorical") next
      cm <- code_moderator(d[[mod$column]], list(type = mod$type, name = mod$name,
                                                 reference = as.character(mod$reference)))
      f <- data.frame(Y = y, TR = d$.treat, school = school, M = cm$x)
      f <- f[complete.cases(f), , drop = FALSE]
      f$MB <- ave(f$M, f$school)
      f$MW <- f$M - f$MB
      if (family == "gaussian") {
        fit <- lm(Y ~ TR + MW + MB + TR:MW + TR:MB, data = f)
        V <- clubSandwich::vcovCR(fit, cluster = f$school, type = "CR2")
        ct <- clubSandwich::coef_test(fit, vcov = V, test = "Satterthwaite")
        for (term in c("within", "between")) {
          r <- ct[if (term == "within") "TR:MW" else "TR:MB", ]
          q <- qt(1 - (1 - CI_LEVEL) / 2, r$df_Satt)
          dec[[length(dec) + 1]] <- data.frame(outcome = o$name, timepoint = t, moderator = mod$name, term = term,
            model = "linear", estimate = r$beta, std_error = r$SE, ci_low = r$beta - q * r$SE,
            ci_high = r$beta + q * r$SE, p_value = r$p_Satt, df = r$df_Satt, n = nrow(f))
        }
      } else {
        fit <- glm(Y ~ TR + MW + MB + TR:MW + TR:MB, data = f, family = binomial(),
                   control = glm.control(epsilon = 1e-14, maxit = 100))
        stopifnot(fit$converged)
        V <- sandwich::vcovCL(fit, cluster = ~school, type = "HC0", cadjust = FALSE)
        for (term in c("within", "between")) {
          nm <- if (term == "within") "TR:MW" else "TR:MB"
          est <- unname(coef(fit)[nm]); s <- sqrt(V[nm, nm]); q <- qnorm(1 - (1 - CI_LEVEL) / 2)
          dec[[length(dec) + 1]] <- data.frame(outcome = o$name, timepoint = t, moderator = mod$name, term = term,
            model = "logistic", estimate = est, std_error = s, ci_low = est - q * s, ci_high = est + q * s,
            p_value = 2 * pnorm(-abs(est / s)), df = Inf, n = nrow(f))
        }
      }
    }
  }
}
dec <- do.call(rbind, dec)
dcols <- names(dec)
lines <- do.call(paste, c(lapply(dcols, function(c) {
  if (c == "n") as.character(dec$n) else if (c == "df") ifelse(is.infinite(dec$df), "Inf", csv_field(dec$df)) else csv_field(dec[[c]])
}), sep = ","))
writeLines(c(paste(dcols, collapse = ","), lines), "reference_decomposition.csv")
print(dec, digits = 6, row.names = FALSE)

## Categorical moderators in the decomposition (../decomposition.R): each non-reference level's
## indicator decomposed into its cluster-mean-centred value and its cluster mean (the share of
## the school at that level), lm / glm on those columns with CR2 (HTZ joint rows) or CR0
## (chi-square joint rows). father_education only: sector (school_type) is a school-level
## characteristic, constant within schools, so it has no within-school part (effectmod leaves its
## rows empty with a note). The continuous and binary moderators above, recomputed with the shared
## function, agree with reference_decomposition.csv (checked here). Writes
## reference_decomposition_categorical.csv.
source("../decomposition.R")
cat_dec <- list()
for (o in p$outcomes) {
  family <- if (o$type == "binary") "binomial" else "gaussian"
  for (t in names(o$followups)) {
    y <- code_outcome(d[[o$followups[[t]]]], list(type = o$type, event = as.character(o$event)))
    for (mod in p$moderators) {
      cm <- code_moderator(d[[mod$column]], list(type = mod$type, name = mod$name,
                                                 reference = as.character(mod$reference)))
      arm <- factor(d$.treat, levels = c(0, 1))
      if (mod$type != "categorical") {
        chk <- decomposed_rows(y, arm, school, cm$x, family, "")
        old <- dec[dec$outcome == o$name & dec$moderator == mod$name, ]
        stopifnot(max(abs(chk$estimate - old$estimate) / abs(old$estimate)) < 1e-10,
                  max(abs(chk$std_error - old$std_error) / old$std_error) < 1e-10)
        next
      }
      if (mod$name == "sector") next
      r <- decomposed_rows(y, arm, school, cm$x, family, cm$levels[-1])
      cat_dec[[length(cat_dec) + 1]] <- cbind(outcome = o$name, timepoint = t, moderator = mod$name,
        model = if (family == "binomial") "logistic" else "linear", r, n = length(y))
    }
  }
}
cat_dec <- do.call(rbind, cat_dec)
write_decomposition(cat_dec, "reference_decomposition_categorical.csv")
print(cat_dec, digits = 6, row.names = FALSE)
