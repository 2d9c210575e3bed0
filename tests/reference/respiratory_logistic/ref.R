## Reference results for the effectmod validation case 'respiratory_logistic'.
## Run inside this folder:  Rscript ref.R
## (or ../regenerate.sh respiratory_logistic, which also records the R and package versions in versions.txt).
## Writes data.csv (from R package HSAUR3, dataset respiratory, reshaped to one row per
## participant), then reads plan.yaml and writes reference.csv.
## Needs R (>= 4.2) with yaml and HSAUR3 (Debian: r-cran-hsaur3).
## The helpers (run_case, plan_spec, ...) are in ../common.R.
source("../common.R")

## ------------------------------- data export ------------------------------------------
## respiratory (Davis 1991; Stokes, Davis & Koch 1995): 111 patients with respiratory illness
## in two centres, randomised to an active treatment or placebo; respiratory status (poor /
## good) at baseline (month 0) and at four monthly visits. One row per patient: the visit
## statuses become status.0 ... status.4 (text, as distributed); nothing else changed.
data("respiratory", package = "HSAUR3")
r <- respiratory
r$subject <- as.integer(as.character(r$subject))
w <- reshape(data.frame(subject = r$subject, month = as.character(r$month),
                        status = as.character(r$status)),
             idvar = "subject", timevar = "month", direction = "wide", sep = ".")
info <- r[r$month == "0", c("subject", "centre", "treatment", "gender", "age")]
info$centre <- as.character(info$centre)
info$treatment <- as.character(info$treatment)
info$gender <- as.character(info$gender)
wide <- merge(info, w, by = "subject")
wide <- wide[order(wide$subject), c("subject", "centre", "treatment", "gender", "age",
                                    paste0("status.", 0:4))]
write.csv(wide, "data.csv", row.names = FALSE, quote = TRUE, na = "")

## Moderators (plan.yaml): age and centre. Gender and baseline status are not moderators here:
## at month 3 the few treated men all had the same status, and at month 1 no treated patient
## with a good baseline status had a poor status (quasi-complete separation, ML estimate infinite);
## the Python tests use these two models as real-data separation examples.

res <- run_case(plan_spec("plan.yaml"), "data.csv")
write_reference(res, "reference.csv")
print(res[, c("outcome", "timepoint", "moderator", "term", "estimate", "std_error", "p_value", "n")], digits = 6, row.names = FALSE)
