## Reference results for the effectmod validation case 'pbc_cox' (time-to-event with an event_value).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh pbc_cox)
## pbc (Mayo Clinic primary biliary cholangitis trial): trt 1 (D-penicillamine) vs 2 (placebo);
## the 106 rows with trt NA were not randomised and are dropped.
## status 0 = censored, 1 = liver transplant, 2 = death: event_value 2, so transplant is censored
## (Surv(time, status == 2)). Moderators: age (continuous), sex (binary, reference f), edema
## (categorical, reference 0); horizon 3652 days (10 years).
source("../survival_ref.R")
pbc <- survival::pbc
write.csv(pbc, "data.csv", row.names = FALSE, quote = TRUE, na = "")
plan <- read_plan(yaml::read_yaml("plan.yaml"))
d <- plan_data(plan, read.csv("data.csv"))
stopifnot(nrow(d) == 312, sum(d$.event) == 125)
tau <- plan$horizon
rows <- NULL; cells <- NULL
for (m in plan$moderators) {
  r <- cox_rows(d, m[1], m[2], plan$covariates)
  rows <- rbind(rows, r$rows)
  rr <- rmst_rows(d, m[1], m[2], plan$covariates, tau)
  rows <- rbind(rows, rr$rows); cells <- rbind(cells, rr$cells)
}
write_num_csv(rows, "reference.csv")
print(rows, digits = 6)
print(cells)
