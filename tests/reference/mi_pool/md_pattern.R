# Reference for effectmod.data.impute.missing_patterns (tests/test_impute.py): mice::md.pattern
# on mice's nhanes data. Run from this folder: Rscript md_pattern.R
suppressPackageStartupMessages(library(mice))
write.csv(nhanes, "nhanes.csv", row.names = FALSE, na = "")
p <- md.pattern(nhanes, plot = FALSE)
out <- data.frame(count = rownames(p), p, check.names = FALSE)
names(out)[ncol(out)] <- "n_missing"
write.csv(out, "md_pattern.csv", row.names = FALSE, na = "")
