## Reference results for the effectmod validation case 'rhdnase_cox' (time-to-event, continuous
## moderator, a multicentre cluster).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh rhdnase_cox)
## survival::rhDNase (Fuchs et al. 1994): rhDNase (trt 1) vs placebo (0) in cystic fibrosis; one row per
## IV-antibiotic episode. Time to the first exacerbation after randomisation: episodes starting on or
## before day 0 (ongoing at entry) do not count; without an episode, censored at end.dt - entry.dt.
## Moderator: fev (baseline FEV1, % predicted, continuous, centred at its mid-range as effectmod does).
## plan.yaml: data.cluster inst (51 centres) -> coxph(..., cluster = inst), the grouped robust SE
##   (reference.csv; RMST is not produced with a cluster, CONTRACT 6.3).
## plan_nocluster.yaml: the same without the cluster -> model-based Cox SE and the pseudo-observation
##   RMST at 160 days with the HC0 sandwich (reference_nocluster.csv).
source("../survival_ref.R")
r <- survival::rhDNase
r$ivstart[!is.na(r$ivstart) & r$ivstart <= 0] <- NA
r <- r[order(r$id, r$ivstart), ]
first <- r[!duplicated(r$id), ]
first$futime <- ifelse(is.na(first$ivstart), as.numeric(first$end.dt - first$entry.dt), first$ivstart)
first$infect <- as.integer(!is.na(first$ivstart))
write.csv(first[, c("id", "inst", "trt", "entry.dt", "end.dt", "fev", "futime", "infect")], "data.csv",
          row.names = FALSE, na = "")
plan <- read_plan(yaml::read_yaml("plan.yaml"))
d <- plan_data(plan, read.csv("data.csv"))
stopifnot(nrow(d) == 647, sum(d$.event) == 243)
m <- plan$moderators[[1]]
write_num_csv(cox_rows(d, m[1], m[2], plan$covariates, cluster = "inst")$rows, "reference.csv")
p2 <- read_plan(yaml::read_yaml("plan_nocluster.yaml"))
stopifnot(is.null(yaml::read_yaml("plan_nocluster.yaml")$data$cluster), identical(p2[-1], plan[-1]))
rows <- rbind(cox_rows(d, m[1], m[2], plan$covariates)$rows, rmst_rows(d, m[1], m[2], plan$covariates, plan$horizon)$rows)
write_num_csv(rows, "reference_nocluster.csv")
print(read.csv("reference.csv")); print(rows, digits = 6)
