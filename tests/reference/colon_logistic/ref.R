## Reference results for the effectmod validation case 'colon_logistic'.
## Run inside this folder:  Rscript ref.R
## (or ../regenerate.sh colon_logistic, which also records the R and package versions in versions.txt).
## Writes data.csv (from R package survival, dataset colon, the death records: one row per
## participant), then reads plan.yaml and writes reference.csv.
## Needs R (>= 4.2) with yaml and survival (a recommended package).
## The helpers (run_case, plan_spec, ...) are in ../common.R.
source("../common.R")

## ------------------------------- data export ------------------------------------------
## colon (Moertel et al. 1990; Laurie et al. 1989): adjuvant chemotherapy for stage B/C colon
## cancer; 929 patients randomised to observation (Obs), levamisole (Lev) or levamisole +
## 5-FU (Lev+5FU). The dataset has two records per patient (etype 1 recurrence, 2 death);
## data.csv keeps the death records (etype == 2), all columns as distributed. `status` is
## 1 for a patient who died during follow-up. The Lev arm stays in the file and is excluded
## by the plan (control: Obs).
colon <- survival::colon
deaths <- colon[colon$etype == 2, ]
deaths <- deaths[order(deaths$id), ]
write.csv(deaths, "data.csv", row.names = FALSE, quote = TRUE, na = "")


res <- run_case(plan_spec("plan.yaml"), "data.csv")
write_reference(res, "reference.csv")
print(res[, c("outcome", "timepoint", "moderator", "term", "estimate", "std_error", "p_value", "n")], digits = 6, row.names = FALSE)
