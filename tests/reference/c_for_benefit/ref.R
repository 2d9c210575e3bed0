## Reference c-for-benefit for the validation case 'c_for_benefit'.
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh c_for_benefit)
## pairs.csv holds matched treated/control pairs written by effectmod (make_pairs.py): each pair's
## predicted benefit (mean of the two predictions) and observed benefit (treated minus control
## outcome). The c-for-benefit (van Klaveren et al. 2018) is Harrell's C of predicted for observed
## pair benefit, here Hmisc::rcorr.cens(x, S) with S a plain vector (every observation uncensored).
## Writes reference.csv (case, c_index, n_pairs) with 17 significant digits.
## Needs R (>= 4.2) with Hmisc.
options(warn = 1, stringsAsFactors = FALSE)
pairs <- read.csv("pairs.csv")
out <- do.call(rbind, lapply(unique(pairs$case), function(k) {
  p <- pairs[pairs$case == k, ]
  r <- Hmisc::rcorr.cens(p$predicted, p$observed)
  data.frame(case = k, c_index = unname(r["C Index"]), n_pairs = nrow(p))
}))
write.csv(format(out, digits = 17), "reference.csv", row.names = FALSE, quote = FALSE)
print(out, digits = 12)
