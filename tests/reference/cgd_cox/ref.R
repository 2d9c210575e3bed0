## Reference results for the effectmod validation case 'cgd_cox' (time-to-event; moderators coded
## with explicit references; a binary moderator with no events in one cell).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh cgd_cox)
## survival::cgd (chronic granulomatous disease trial, Fleming & Harrington 1991): rIFN-g vs placebo;
## time to the FIRST serious infection = each participant's enum == 1 row (tstart 0, tstop, status).
## Moderators: age (continuous), steroids (binary, ref 0), inherit (binary, ref X-linked),
## sex (binary, ref male), hos.cat (categorical, ref US:NIH); horizon 230 days.
## steroids: no infection in the rIFN-g arm with steroids = 1 -> the Cox interaction is not estimable
## (coxph returns a huge |coef| with a huge SE); RMST: placebo with steroids = 1 is last seen at 236
## days, so it is estimable at 230.
source("../survival_ref.R")
cg <- survival::cgd
first <- cg[cg$enum == 1, c("id", "center", "random", "treat", "sex", "age", "height", "weight", "inherit",
                            "steroids", "propylac", "hos.cat", "tstart", "tstop", "status")]
write.csv(first, "data.csv", row.names = FALSE, na = "")
plan <- read_plan(yaml::read_yaml("plan.yaml"))
d <- plan_data(plan, read.csv("data.csv"))
stopifnot(nrow(d) == 128, sum(d$.event) == 44, all(d$tstart == 0))
## binary moderators as 0/1 with 1 = the non-reference level named in plan.yaml
d$inherit <- as.integer(d$inherit == "autosomal")
d$sex <- as.integer(d$sex == "female")
d$hos.cat <- factor(d$hos.cat, levels = c("US:NIH", "Europe:Amsterdam", "Europe:other", "US:other"))
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
