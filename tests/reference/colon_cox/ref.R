## Reference results for the effectmod validation case 'colon_cox' (time-to-event, Cox and RMST).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh colon_cox)
## colon (Moertel et al. 1990): adjuvant chemotherapy for colon cancer; the death records
## (etype == 2, one per patient), Lev+5FU vs Obs (the Lev arm is excluded by the plan).
## Moderators: sex (binary), age (continuous), differ (categorical, 1 reference); horizon 1825 days.
## Cluster-robust check: a deterministic made-up cluster, id %% 25 (colon has no site column).
source("../survival_ref.R")
## the data are colon_logistic's data.csv (the death records, etype == 2, one row per patient)
plan <- read_plan(yaml::read_yaml("plan.yaml"))
d <- plan_data(plan, read.csv("../colon_logistic/data.csv"))
d$.cl <- d$id %% 25
tau <- plan$horizon
rows <- NULL; zph <- NULL; cells <- NULL; pseudo_out <- NULL
for (m in plan$moderators) {
  r <- cox_rows(d, m[1], m[2], plan$covariates)
  rows <- rbind(rows, r$rows); zph <- rbind(zph, zph_frame(r$zph, m[1]))
  rc <- cox_rows(d, m[1], m[2], plan$covariates, cluster = ".cl", model = "cox_cluster")
  rows <- rbind(rows, rc$rows)
  rr <- rmst_rows(d, m[1], m[2], plan$covariates, tau)
  rows <- rbind(rows, rr$rows); cells <- rbind(cells, rr$cells)
  if (!is.null(rr$pseudo)) pseudo_out <- data.frame(moderator = m[1], pseudo = rr$pseudo)
}
write_num_csv(rows, "reference.csv")
write_num_csv(average_row(d, plan$covariates), "average.csv")
write_num_csv(rbind(risk_rows(d, "sex", tau), risk_rows(d, "differ", tau)), "risk.csv")
write_num_csv(zph, "zph.csv")
write_num_csv(cells, "rmst_cells.csv")
write_num_csv(pseudo_out, "pseudo.csv")
print(rows, digits = 6)
print(zph, digits = 6)
