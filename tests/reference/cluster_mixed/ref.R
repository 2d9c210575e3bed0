## Reference results for the effectmod validation case 'cluster_mixed'.
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh cluster_mixed)
## Writes data.csv: a simulated cluster-randomised trial (seed 20261201): 24 practices of 6-14
## participants, practices randomised 1:1, a baseline and three follow-ups with random
## intercepts per practice and per participant and about 10% of follow-ups missing. Then reads
## plan.yaml and fits, per moderator, the mixed model of CONTRACT §6.3 "cluster":
##   lmerTest::lmer(Y ~ time * TR * M + B + (1 | practice) + (1 | id), REML) and the treatment x
##   moderator contrast at each follow-up with lmerTest::contest1D (Satterthwaite df).
## Writes reference.csv (results columns plus df) and varcomp.csv.
## Needs R (>= 4.2) with yaml, lme4 and lmerTest.
source("../common.R")

set.seed(20261201)
G <- 24
size <- sample(6:14, G, replace = TRUE)
practice <- rep(sprintf("GP%02d", seq_len(G)), size)
arm_of <- sample(rep(c("active", "usual"), G / 2))
n <- sum(size)
u_prac <- rnorm(G, sd = 0.6)[rep(seq_len(G), size)]
u_id <- rnorm(n, sd = 0.9)
age <- round(rnorm(n, 55, 10) + rnorm(G, sd = 5)[rep(seq_len(G), size)])
sex <- sample(c("f", "m"), n, replace = TRUE)
tr <- as.integer(arm_of[rep(seq_len(G), size)] == "active")
base <- 10 + u_prac + u_id + rnorm(n)
mk <- function(k) {
  y <- 10 - 0.4 * k * tr - 0.02 * (age - 55) * tr + 0.3 * (sex == "f") + u_prac + u_id + rnorm(n)
  y[runif(n) < 0.1] <- NA
  round(y, 3)
}
d0 <- data.frame(pid = sprintf("P%03d", seq_len(n)), practice = practice,
                 arm = arm_of[rep(seq_len(G), size)], age = age, sex = sex,
                 score_0 = round(base, 3), score_6 = mk(1), score_12 = mk(2), score_24 = mk(3))
write.csv(d0, "data.csv", row.names = FALSE, quote = TRUE, na = "")

p <- yaml::read_yaml("plan.yaml")
spec <- list(id = p$data$id, treatment = p$data$treatment, treated = p$data$treated, control = p$data$control)
d <- select_arms(read_data("data.csv"), spec)
o <- p$outcomes[[1]]
fu <- vapply(o$followups, as.character, "")
rows <- list(); vc <- list()
for (mod in p$moderators) {
  cm <- code_moderator(d[[mod$column]], list(type = mod$type, name = mod$name, reference = mod$reference))
  base <- data.frame(id = d$.id, practice = d[[p$data$cluster]], TR = d$.treat, M = cm$x, B = d[[o$baseline]])
  base <- base[complete.cases(base), ]
  long <- do.call(rbind, lapply(names(fu), function(t) {
    x <- base; x$time <- t; x$Y <- d[[fu[[t]]]][match(base$id, d$.id)]; x }))
  long <- long[!is.na(long$Y), ]
  long$time <- factor(long$time, levels = names(fu))
  ctrl <- lme4::lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
  fit <- lmerTest::lmer(Y ~ time * TR * M + B + (1 | practice) + (1 | id), data = long, REML = TRUE, control = ctrl)
  stopifnot(!lme4::isSingular(fit))
  beta <- lme4::fixef(fit)
  for (t in names(fu)) {
    L <- setNames(numeric(length(beta)), names(beta))
    L["TR:M"] <- 1
    if (t != names(fu)[1]) L[paste0("time", t, ":TR:M")] <- 1
    ct <- lmerTest::contest1D(fit, L, ddf = "Satterthwaite")
    est <- ct[["Estimate"]]; s <- ct[["Std. Error"]]; df <- ct[["df"]]
    q <- qt(1 - (1 - CI_LEVEL) / 2, df)
    rows[[length(rows) + 1]] <- data.frame(outcome = o$name, timepoint = t, moderator = mod$name, term = "",
      model = "mixed", estimate = est, std_error = s, ci_low = est - q * s, ci_high = est + q * s,
      p_value = ct[["Pr(>|t|)"]], p_adjusted = NA, n = length(unique(long$id)),
      tier = tier_of(ct[["Pr(>|t|)"]]), df = df)
  }
  v <- as.data.frame(lme4::VarCorr(fit))
  vc[[length(vc) + 1]] <- data.frame(moderator = mod$name, sigma2_participant = v$vcov[v$grp == "id"],
    sigma2_cluster = v$vcov[v$grp == "practice"], sigma2_residual = v$vcov[v$grp == "Residual"],
    reml_deviance = lme4::REMLcrit(fit))
}
res <- do.call(rbind, rows)
cols <- c(RESULT_COLUMNS, "df")
lines <- do.call(paste, c(lapply(cols, function(c) if (c == "n") as.character(res$n) else csv_field(res[[c]])), sep = ","))
writeLines(c(paste(cols, collapse = ","), lines), "reference.csv")
vc <- do.call(rbind, vc)
vlines <- do.call(paste, c(lapply(names(vc), function(c) csv_field(vc[[c]])), sep = ","))
writeLines(c(paste(names(vc), collapse = ","), vlines), "varcomp.csv")
print(res[, c("timepoint", "moderator", "estimate", "std_error", "p_value", "df")], digits = 8, row.names = FALSE)
print(vc, digits = 10)
