## Reference results for the effectmod validation case 'path_survival' (PATH risk modelling of a
## time-to-event outcome). Run inside this folder:  Rscript ref.R   (or ../regenerate.sh path_survival)
## colon (Moertel et al. 1990), the death records (colon_logistic's data.csv), Lev+5FU vs Obs,
## complete cases in age, nodes, obstruct. Prognostic Cox model (Efron ties, no treatment) on
## age + nodes + obstruct; predicted risk = 1 - S(1825 | x) with the Breslow baseline hazard
## (survfit.coxph ctype = 1, stype = 2); quarters of predicted risk (quantile type 7; a group takes
## the values above its lower cut and up to its upper cut). Per quarter: the Cox hazard ratio of
## treatment (Wald CI) and the KM RMST difference to 1825 days (print(survfit, rmean = 1825)'s SE).
## Also: the treatment x linear-predictor Cox interaction, and Harrell's C of the linear predictor
## (survival::concordance and Hmisc::rcorr.cens); for shrinkage, the Cox log hazard ratio of
## treatment within each level of sex and differ (all participants of the two arms with the level
## observed). Writes groups.csv, model.csv, risk.csv, levels.csv.
source("../survival_ref.R")
library(survival)
plan <- read_plan(yaml::read_yaml("plan.yaml"))
d <- plan_data(plan, read.csv("../colon_logistic/data.csv"))
d <- d[complete.cases(d[, c("age", "nodes", "obstruct", ".time", ".event")]), ]
h <- plan$horizon
fit <- coxph(Surv(.time, .event) ~ age + nodes + obstruct, data = d, ties = "efron")
d$lp <- as.vector(as.matrix(d[, c("age", "nodes", "obstruct")]) %*% coef(fit))
sf <- survfit(fit, newdata = d, ctype = 1, stype = 2)
d$risk <- 1 - as.vector(summary(sf, times = h, extend = TRUE)$surv)
cuts <- quantile(d$risk, c(0.25, 0.5, 0.75), type = 7)
d$group <- findInterval(d$risk, cuts, left.open = TRUE) + 1
z <- qnorm(0.975)
groups <- do.call(rbind, lapply(1:4, function(g) {
  s <- d[d$group == g, ]
  cf <- coxph(Surv(.time, .event) ~ .treat, data = s, ties = "efron")
  b <- unname(coef(cf)); se <- sqrt(vcov(cf)[1, 1])
  km <- survfit(Surv(.time, .event) ~ .treat, data = s)
  tab <- summary(km, rmean = h)$table
  r1 <- tab[".treat=1", "rmean"]; r0 <- tab[".treat=0", "rmean"]
  sd <- sqrt(tab[".treat=1", "se(rmean)"]^2 + tab[".treat=0", "se(rmean)"]^2)
  data.frame(risk_group = g, n_treated = sum(s$.treat == 1), n_control = sum(s$.treat == 0),
             events_treated = sum(s$.event[s$.treat == 1]), events_control = sum(s$.event[s$.treat == 0]),
             mean_predicted_risk = mean(s$risk), rmst_difference = r1 - r0, rmst_low = r1 - r0 - z * sd,
             rmst_high = r1 - r0 + z * sd, hazard_ratio = exp(b), hr_low = exp(b - z * se), hr_high = exp(b + z * se))
}))
inter <- coxph(Surv(.time, .event) ~ .treat * lp, data = d, ties = "efron")
ci <- summary(inter)$coefficients[".treat:lp", ]
conc <- concordance(Surv(.time, .event) ~ lp, data = d, reverse = TRUE)
hm <- Hmisc::rcorr.cens(-d$lp, Surv(d$.time, d$.event))
model <- data.frame(n = nrow(d), coef_age = coef(fit)[["age"]], coef_nodes = coef(fit)[["nodes"]],
                    coef_obstruct = coef(fit)[["obstruct"]], interaction = ci[["coef"]], interaction_se = ci[["se(coef)"]],
                    p_interaction = ci[["Pr(>|z|)"]], c_concordance = conc$concordance, c_rcorr = unname(hm["C Index"]),
                    cut1 = cuts[[1]], cut2 = cuts[[2]], cut3 = cuts[[3]])
all <- plan_data(plan, read.csv("../colon_logistic/data.csv"))
levels <- do.call(rbind, lapply(c("sex", "differ"), function(m) {
  do.call(rbind, lapply(sort(unique(na.omit(all[[m]]))), function(v) {
    cf <- coxph(Surv(.time, .event) ~ .treat, data = all[!is.na(all[[m]]) & all[[m]] == v, ], ties = "efron")
    data.frame(moderator = m, level = as.character(v), log_hr = unname(coef(cf)), se = sqrt(vcov(cf)[1, 1]))
  }))
}))
write_num_csv(levels, "levels.csv")
write_num_csv(groups, "groups.csv")
write_num_csv(model, "model.csv")
write_num_csv(data.frame(id = d$id, lp = d$lp, risk = d$risk), "risk.csv")
print(groups, digits = 8); print(model, digits = 10)
