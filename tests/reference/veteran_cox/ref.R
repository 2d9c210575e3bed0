## Reference results for the effectmod validation case 'veteran_cox' (time-to-event, Cox and RMST).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh veteran_cox)
## veteran (Kalbfleisch & Prentice): Veterans' Administration lung cancer trial, 137 patients,
## trt 2 (test chemotherapy) vs 1 (standard). Moderators: karno (continuous), celltype
## (categorical, reference adeno), prior (binary, 0/10); covariate age; horizon 180 days.
source("../survival_ref.R")
vet <- survival::veteran
vet$id <- seq_len(nrow(vet))
vet$celltype <- as.character(vet$celltype)
write.csv(vet, "data.csv", row.names = FALSE, quote = TRUE, na = "")
plan <- read_plan(yaml::read_yaml("plan.yaml"))
d <- plan_data(plan, read.csv("data.csv"))
tau <- plan$horizon
rows <- NULL; zph <- NULL; cells <- NULL; pseudo_out <- NULL
for (m in plan$moderators) {
  r <- cox_rows(d, m[1], m[2], plan$covariates)
  rows <- rbind(rows, r$rows); zph <- rbind(zph, zph_frame(r$zph, m[1]))
  rr <- rmst_rows(d, m[1], m[2], plan$covariates, tau)
  rows <- rbind(rows, rr$rows); cells <- rbind(cells, rr$cells)
  if (!is.null(rr$pseudo)) pseudo_out <- data.frame(moderator = m[1], pseudo = rr$pseudo)
}
write_num_csv(rows, "reference.csv")
write_num_csv(zph, "zph.csv")
write_num_csv(cells, "rmst_cells.csv")
write_num_csv(pseudo_out, "pseudo.csv")
print(rows, digits = 6)
print(cells)
