## Reference results for the effectmod validation case 'toenail_logistic' (LONG binary data, one row
## per participant and visit; a baseline-level binary moderator).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh toenail_logistic)
## HSAUR3::toenail (De Backer et al. 1998): 294 patients randomised to terbinafine or itraconazole;
## onycholysis "none or mild" / "moderate or severe" at visits 1 (baseline) to 7. The moderator
## baseline_severity is each patient's visit-1 outcome (added to every row; nothing else changed).
## Per follow-up visit 2..7: glm(severe ~ treat * base, binomial) on the patients seen at that visit
## (complete cases), severe = 1 for "moderate or severe", treat = 1 for terbinafine, base = 1 for a
## moderate or severe baseline; adjust_for_baseline: false (the moderator is the baseline).
## Wald z CI and p from the inverse information.
options(warn = 1, stringsAsFactors = FALSE)
num <- function(x) formatC(x, digits = 17, format = "g")
data(toenail, package = "HSAUR3")
t <- toenail
b <- t[t$visit == 1, c("patientID", "outcome")]
t$baseline_severity <- b$outcome[match(t$patientID, b$patientID)]
write.csv(t, "data.csv", row.names = FALSE, na = "")
plan <- yaml::read_yaml("plan.yaml")
o <- plan$outcomes[[1]]; m <- plan$moderators[[1]]
stopifnot(identical(plan$analysis$adjust_for_baseline, FALSE), o$baseline == "1")
d <- read.csv("data.csv")
d$y <- as.integer(d[[o$column]] == o$event)
d$treat <- as.integer(d[[plan$data$treatment]] == plan$data$treated)
d$base <- as.integer(d[[m$column]] != m$reference)
z <- qnorm(0.975)
rows <- NULL
for (v in 2:7) {
  s <- d[d[[plan$data$time]] == v, ]
  fit <- glm(y ~ treat * base, family = binomial, data = s, control = glm.control(epsilon = 1e-14, maxit = 100))
  est <- coef(fit)[["treat:base"]]; se <- sqrt(vcov(fit)["treat:base", "treat:base"])
  rows <- rbind(rows, data.frame(outcome = "severe", timepoint = as.character(v), moderator = "baseline_severity",
                                 term = "", model = "logistic", estimate = num(est), std_error = num(se),
                                 ci_low = num(est - z * se), ci_high = num(est + z * se),
                                 p_value = num(2 * pnorm(-abs(est / se))), n = nrow(s)))
}
write.csv(rows, "reference.csv", row.names = FALSE)
print(rows)
