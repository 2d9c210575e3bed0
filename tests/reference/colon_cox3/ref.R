## Reference results for the effectmod validation case 'colon_cox3' (three-arm time-to-event).
## Run inside this folder:  Rscript ref.R   (or ../regenerate.sh colon_cox3)
## colon (Moertel et al. 1990), death records (etype == 2, one per patient), all three arms:
## rx a factor with Obs first (control), Lev and Lev+5FU treated (CONTRACT 6.2-6.3, multi-arm).
## Writes data.csv (colon_logistic's data with a made-up cluster `centre` = id %% 25) and:
##   reference.csv  cox: coxph(Surv(time, status) ~ rx * mod, ties = "efron"), per comparison the
##                  rx<arm>:mod coefficients (Wald z), each comparison's categorical joint
##                  chi-square, the `all arms` joint Wald chi-square of every rx x mod coefficient
##                  from vcov; cox_cluster: the same with coxph(..., cluster = centre);
##                  rmst: binary/categorical moderators - KM RMST to 1825 days per arm within level
##                  (summary(survfit, rmean = 1825)), per comparison (arm - control) in each level
##                  minus the reference level's, variances add, joint chi-square with the full
##                  covariance; continuous moderators - pseudo(survfit(~1), times = 1825,
##                  type = "rmst") over the model's participants, lm(pseudo ~ rx * mod), HC0.
##                  rmst has no `all arms` row.
##   zph.csv        cox.zph(transform = "km", terms = FALSE) per coefficient and global.
##   average.csv    coxph(Surv ~ rx): log hazard ratio of each treated arm vs Obs (std_error_cluster: with
##                  cluster = centre); KM risk difference by 1825 days.
##   risk.csv       KM risk by 1825 days (1 - surv, Greenwood std.err) per arm within each level.
options(warn = 1, stringsAsFactors = FALSE)
library(survival)
ctl <- coxph.control(eps = 1e-11, iter.max = 100)
num <- function(x) formatC(x, digits = 17, format = "g")
write_num_csv <- function(df, path) {
  for (c in names(df)) if (is.numeric(df[[c]])) df[[c]] <- ifelse(is.na(df[[c]]), "", num(df[[c]]))
  write.csv(df, path, row.names = FALSE, quote = TRUE, na = "")
}
d0 <- read.csv("../colon_logistic/data.csv")
d0$centre <- d0$id %% 25
write.csv(d0[, c("id", "rx", "sex", "age", "differ", "time", "status", "centre")], "data.csv",
          row.names = FALSE, quote = TRUE, na = "")
## arms, horizon and moderators as the plans declare them (the files effectmod reads)
plan <- yaml::read_yaml("plan.yaml")
stopifnot(yaml::read_yaml("plan_cluster.yaml")$data$cluster == "centre", plan$data$control == "Obs")
arms <- unlist(plan$data$treated); tau <- plan$outcomes[[1]]$horizon
d0$rx <- factor(d0$rx, levels = c(plan$data$control, arms))
mods <- lapply(plan$moderators, function(m) c(m$column, m$type))
z <- qnorm(0.975)
row_of <- function(model, mod, term, cmp, est, se, p, n, stat = NA, df = NA)
  data.frame(model = model, moderator = mod, term = term, comparison = cmp, estimate = est, std_error = se,
             ci_low = est - z * se, ci_high = est + z * se, p_value = p, n = n, statistic = stat, df_num = df)
joint <- function(model, mod, cmp, b, V, n) {
  w <- as.numeric(t(b) %*% solve(V, b))
  row_of(model, mod, "joint", cmp, NA, NA, pchisq(w, length(b), lower.tail = FALSE), n, w, length(b))
}
prep <- function(mod, type) {
  d <- d0[complete.cases(d0[, c("time", "status", "rx", mod)]), ]
  if (type == "categorical") d$m <- factor(d[[mod]]) else d$m <- d[[mod]]
  if (type == "continuous") d$m <- d$m - (min(d$m) + max(d$m)) / 2
  d
}
rows <- NULL; zph <- NULL; cells <- NULL
for (mm in mods) {
  mod <- mm[1]; type <- mm[2]
  d <- prep(mod, type); n <- nrow(d)
  terms <- if (type == "categorical") levels(d$m)[-1] else ""
  for (model in c("cox", "cox_cluster")) {
    fit <- if (model == "cox") coxph(Surv(time, status) ~ rx * m, data = d, ties = "efron", control = ctl)
           else coxph(Surv(time, status) ~ rx * m, data = d, ties = "efron", cluster = centre, control = ctl)
    b <- coef(fit); V <- vcov(fit)
    all_idx <- c()
    for (a in arms) {
      idx <- grep(paste0("^rx", a, ":m"), names(b), fixed = FALSE)
      idx <- which(startsWith(names(b), paste0("rx", a, ":m")))
      all_idx <- c(all_idx, idx)
      cmp <- paste(a, "vs Obs")
      for (j in seq_along(idx)) {
        est <- b[[idx[j]]]; se <- sqrt(V[idx[j], idx[j]])
        rows <- rbind(rows, row_of(model, mod, terms[j], cmp, est, se, 2 * pnorm(-abs(est / se)), n))
      }
      if (type == "categorical") rows <- rbind(rows, joint(model, mod, cmp, b[idx], V[idx, idx], n))
    }
    rows <- rbind(rows, joint(model, mod, "all arms", b[all_idx], V[all_idx, all_idx], n))
    if (model == "cox") {
      t <- cox.zph(fit, transform = "km", terms = FALSE)$table
      zph <- rbind(zph, data.frame(moderator = mod, term = rownames(t), chisq = t[, "chisq"], df = t[, "df"], p = t[, "p"]))
    }
  }
  ## rmst
  if (type == "continuous") {
    assign(".pseudo_data", d, envir = globalenv())
    d$ps <- pseudo(survfit(Surv(time, status) ~ 1, data = .pseudo_data), times = tau, type = "rmst")
    fit <- lm(ps ~ rx * m, data = d)
    V <- sandwich::vcovHC(fit, type = "HC0"); b <- coef(fit)
    for (a in arms) {
      k <- paste0("rx", a, ":m"); est <- b[[k]]; se <- sqrt(V[k, k])
      rows <- rbind(rows, row_of("rmst", mod, "", paste(a, "vs Obs"), est, se, 2 * pnorm(-abs(est / se)), n))
    }
  } else {
    lv <- sort(unique(d[[mod]]))
    rm <- function(s) { tab <- summary(survfit(Surv(time, status) ~ 1, data = s), rmean = tau)$table
                        c(tab[["rmean"]], tab[["se(rmean)"]]) }
    res <- list()
    for (l in lv) for (a in c("Obs", arms)) {
      r <- rm(d[d[[mod]] == l & d$rx == a, ])
      res[[paste(l, a)]] <- r
      cells <- rbind(cells, data.frame(moderator = mod, level = as.character(l), arm = a, rmst = r[1], std_error = r[2]))
    }
    for (a in arms) {
      cmp <- paste(a, "vs Obs")
      diffs <- sapply(lv, function(l) res[[paste(l, a)]][1] - res[[paste(l, "Obs")]][1])
      vars <- sapply(lv, function(l) res[[paste(l, a)]][2]^2 + res[[paste(l, "Obs")]][2]^2)
      est <- diffs[-1] - diffs[1]; se <- sqrt(vars[-1] + vars[1])
      tm <- if (type == "categorical") as.character(lv[-1]) else ""
      rows <- rbind(rows, row_of("rmst", mod, tm, cmp, est, se, 2 * pnorm(-abs(est / se)), n))
      if (type == "categorical") {
        k <- length(lv)
        rows <- rbind(rows, joint("rmst", mod, cmp, est, matrix(vars[1], k - 1, k - 1) + diag(vars[-1], k - 1), n))
      }
    }
  }
}
write_num_csv(rows, "reference.csv")
write_num_csv(zph, "zph.csv")
write_num_csv(cells, "rmst_cells.csv")
fit <- coxph(Surv(time, status) ~ rx, data = d0, ties = "efron", control = ctl)
fitc <- coxph(Surv(time, status) ~ rx, data = d0, ties = "efron", cluster = centre, control = ctl)
avg <- NULL
for (a in arms) {
  k <- paste0("rx", a)
  s1 <- summary(survfit(Surv(time, status) ~ 1, data = d0[d0$rx == a, ]), times = tau)
  s0 <- summary(survfit(Surv(time, status) ~ 1, data = d0[d0$rx == "Obs", ]), times = tau)
  avg <- rbind(avg, data.frame(comparison = paste(a, "vs Obs"), estimate = coef(fit)[[k]], std_error = sqrt(vcov(fit)[k, k]),
                               std_error_cluster = sqrt(vcov(fitc)[k, k]),
                               risk_difference = (1 - s1$surv) - (1 - s0$surv),
                               rd_std_error = sqrt(s1$std.err^2 + s0$std.err^2)))
}
write_num_csv(avg, "average.csv")
risk <- NULL
for (mm in list(c("sex"), c("differ"))) {
  mod <- mm[1]
  d <- d0[complete.cases(d0[, c("time", "status", "rx", mod)]), ]
  for (l in sort(unique(d[[mod]]))) for (a in c("Obs", arms)) {
    sm <- summary(survfit(Surv(time, status) ~ 1, data = d[d[[mod]] == l & d$rx == a, ]), times = tau)
    risk <- rbind(risk, data.frame(moderator = mod, level = as.character(l), arm = a, risk = 1 - sm$surv, std_error = sm$std.err))
  }
}
write_num_csv(risk, "risk.csv")
print(rows, digits = 6)
print(zph, digits = 6)
