## Reference results for the effectmod validation case 'btheb_ordinal' (ordinal outcomes).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh btheb_ordinal).
## Data: HSAUR3::BtheB (Proudfoot et al. 2003: "Beat the Blues", computerised CBT vs treatment as
## usual, 100 patients, Beck Depression Inventory II before and 2, 3, 5, 8 months after).
## The ORDINAL OUTCOME IS DERIVED here from the continuous BDI-II by its published fixed cut
## points (Beck 1996): minimal 0-13, mild 14-19, moderate 20-28, severe 29-63; the trial itself
## reports BDI as a score. data.csv holds the trial's columns plus bdi_cat_pre, bdi_cat_2m,
## bdi_cat_8m (text levels) and an id.
## Model (CONTRACT section 6.3): ordinal::clm(ordered(y_t) ~ treat * mod + baseline, link =
## "logit"), the baseline the level index (1-4) of bdi_cat_pre, categories unused in a model
## dropped; estimate the treat:mod coefficient (clm's sign: logit P(Y <= j) = theta_j - eta),
## SE from vcov(clm) (analytic observed information), Wald z CI and p. extras.csv: clm's
## thresholds and log-likelihood, and ordinal::nominal_test's LR for treat and treat:mod.
source("../common.R")

data("BtheB", package = "HSAUR3")
b <- get("BtheB")
cut4 <- function(x) as.character(cut(x, c(-Inf, 13.5, 19.5, 28.5, Inf), labels = c("minimal", "mild", "moderate", "severe")))
d <- data.frame(id = seq_len(nrow(b)), treatment = as.character(b$treatment), drug = as.character(b$drug),
                length = as.character(b$length), bdi_pre = b$bdi.pre,
                bdi_cat_pre = cut4(b$bdi.pre), bdi_cat_2m = cut4(b$bdi.2m), bdi_cat_8m = cut4(b$bdi.8m))
write.csv(d, "data.csv", row.names = FALSE, na = "")

## levels, follow-ups, baseline and moderators as plan.yaml declares them (the file effectmod reads)
plan <- yaml::read_yaml("plan.yaml")
o <- plan$outcomes[[1]]
LEVELS <- unlist(o$levels)
d <- read_data("data.csv")
d$treat <- as.integer(d[[plan$data$treatment]] == plan$data$treated)
d$base <- match(d[[o$baseline]], LEVELS)      # an ordinal baseline enters as its level index
mods <- lapply(plan$moderators, function(m) list(name = m$name, col = m$column, type = m$type, ref = m$reference))
rows <- list(); extras <- list()
z <- qnorm(1 - (1 - CI_LEVEL) / 2)
for (tp in names(o$followups)) for (m in mods) {
  dd <- d
  dd$y <- dd[[o$followups[[tp]]]]
  dd$mod <- if (m$type == "binary") as.integer(dd[[m$col]] != m$ref) else dd[[m$col]]
  dd <- dd[!is.na(dd$y) & !is.na(dd$mod) & !is.na(dd$base), ]
  dd$y <- droplevels(factor(dd$y, levels = LEVELS, ordered = TRUE))
  fit <- ordinal::clm(y ~ treat * mod + base, data = dd, link = "logit",
                      control = ordinal::clm.control(gradTol = 1e-12, relTol = 1e-14, maxIter = 200))
  b <- coef(fit); V <- vcov(fit)
  est <- b[["treat:mod"]]; se <- sqrt(V["treat:mod", "treat:mod"])
  rows[[length(rows) + 1]] <- data.frame(outcome = o$name, timepoint = tp, moderator = m$name, term = "",
    model = "ordinal", estimate = est, std_error = se, ci_low = est - z * se, ci_high = est + z * se,
    p_value = 2 * pnorm(-abs(est / se)), p_adjusted = NA, n = nrow(dd))
  ## ordinal::nominal_test's LR for treat and treat:mod, refitted at the tight tolerance
  ctl <- ordinal::clm.control(gradTol = 1e-12, relTol = 1e-14, maxIter = 200)
  dd$tm <- dd$treat * dd$mod
  ll0 <- as.numeric(logLik(fit))
  nom_t <- ordinal::clm(y ~ treat * mod + base, nominal = ~ treat, data = dd, link = "logit", control = ctl)
  nom_i <- ordinal::clm(y ~ treat + mod + tm + base, nominal = ~ tm, data = dd, link = "logit", control = ctl)
  lr_t <- 2 * (as.numeric(logLik(nom_t)) - ll0); lr_i <- 2 * (as.numeric(logLik(nom_i)) - ll0)
  df_nom <- nlevels(dd$y) - 2
  extras[[length(extras) + 1]] <- data.frame(timepoint = tp, moderator = m$name, loglik = ll0,
    n_categories = nlevels(dd$y), theta_1 = b[[1]], theta_last = b[[nlevels(dd$y) - 1]],
    treat = b[["treat"]], treat_se = sqrt(V["treat", "treat"]),
    nominal_lr_treat = lr_t, nominal_p_treat = pchisq(lr_t, df_nom, lower.tail = FALSE),
    nominal_lr_interaction = lr_i, nominal_p_interaction = pchisq(lr_i, df_nom, lower.tail = FALSE))
}
res <- do.call(rbind, rows)
res$tier <- tier_of(res$p_value)
write_reference(res, "reference.csv")
ex <- do.call(rbind, extras)
ex[] <- lapply(ex, function(x) if (is.numeric(x)) csv_field(x) else x)
write.csv(ex, "extras.csv", row.names = FALSE, quote = FALSE)
print(res[, c("timepoint", "moderator", "estimate", "std_error", "p_value", "n")], digits = 8, row.names = FALSE)
print(ex)
