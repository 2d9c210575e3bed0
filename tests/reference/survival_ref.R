## Shared helpers of the time-to-event reference cases (colon_cox, veteran_cox).
## Definitions follow CONTRACT.md section 6.3 (time_to_event):
##   cox : coxph(Surv(time, event) ~ treat*mod + covariates, ties = "efron"), model-based SE,
##         Wald z CI and p; categorical moderators: k-1 rows + a joint Wald chi-square;
##         with a cluster: coxph(..., cluster = cl), the grouped robust SE.
##   rmst (binary/categorical moderators): KM RMST to the horizon per arm within each level with
##         the SE of print(survfit, rmean = horizon); interaction = level difference minus the
##         reference level's difference (variances add); joint chi-square with the full covariance.
##   rmst (continuous moderators): pseudo-observations survival::pseudo(survfit(~1), times =
##         horizon, type = "rmst") over the model's participants, lm(pseudo ~ treat*mod +
##         covariates), HC0 sandwich, z CI and p.
##   cox.zph (transform "km"): per-term and global chi-square with their p.
options(warn = 1, stringsAsFactors = FALSE)
library(survival)

ctl <- coxph.control(eps = 1e-11, iter.max = 100)
num <- function(x) formatC(x, digits = 17, format = "g")

row_of <- function(model, timepoint, moderator, term, est, se, p, n, stat = NA, df = NA) {
  z <- qnorm(0.975)
  data.frame(model = model, timepoint = timepoint, moderator = moderator, term = term,
             estimate = est, std_error = se, ci_low = est - z * se, ci_high = est + z * se,
             p_value = p, n = n, statistic = stat, df_num = df)
}

joint_row <- function(model, timepoint, moderator, b, V, n) {
  w <- as.numeric(t(b) %*% solve(V, b))
  row_of(model, timepoint, moderator, "joint", NA, NA, pchisq(w, length(b), lower.tail = FALSE), n, w, length(b))
}

## d: data with .time, .event, .treat and the moderator column (coded); mod_type; covs: names
cox_rows <- function(d, mod, mod_type, covs, cluster = NULL, model = "cox") {
  d <- d[complete.cases(d[, c(".time", ".event", ".treat", mod, covs)]), ]
  if (mod_type == "categorical") d[[mod]] <- factor(d[[mod]])
  if (mod_type == "continuous") d[[mod]] <- d[[mod]] - (min(d[[mod]]) + max(d[[mod]])) / 2
  ## binary: 1 = the non-reference level (the reference is the first in numeric order)
  if (mod_type == "binary") d[[mod]] <- as.integer(d[[mod]] != sort(unique(d[[mod]]))[1])
  rhs <- paste(c(".treat", mod, covs, paste0(".treat:", mod)), collapse = " + ")
  f <- as.formula(paste("Surv(.time, .event) ~", rhs))
  fit <- if (is.null(cluster)) coxph(f, data = d, ties = "efron", control = ctl, x = TRUE)
         else coxph(f, data = d, ties = "efron", cluster = d[[cluster]], control = ctl, x = TRUE)
  b <- coef(fit); V <- vcov(fit)
  idx <- grep("^\\.treat:", names(b))
  n <- nrow(d)
  out <- NULL
  terms <- if (mod_type == "categorical") levels(d[[mod]])[-1] else ""
  for (j in seq_along(idx)) {
    est <- b[idx[j]]; se <- sqrt(V[idx[j], idx[j]])
    out <- rbind(out, row_of(model, "", mod, terms[j], est, se, 2 * pnorm(-abs(est / se)), n))
  }
  if (mod_type == "categorical") out <- rbind(out, joint_row(model, "", mod, b[idx], V[idx, idx], n))
  zph <- cox.zph(fit, transform = "km", terms = FALSE)
  list(rows = out, zph = zph, fit = fit)
}

km_rmst <- function(time, event, tau) {
  ## a horizon before the cell's first time (summary.survfit refuses it): the KM curve is 1 up to
  ## the horizon, so the RMST is the horizon itself with variance 0 (cgd_cox: 1 participant)
  if (tau < min(time)) return(c(tau, 0, max(time)))
  fit <- survfit(Surv(time, event) ~ 1)
  tab <- summary(fit, rmean = tau)$table
  c(tab[["rmean"]], tab[["se(rmean)"]], max(time))
}

rmst_rows <- function(d, mod, mod_type, covs, tau) {
  tp <- format(tau)
  if (mod_type == "continuous") {
    d <- d[complete.cases(d[, c(".time", ".event", ".treat", mod, covs)]), ]
    d[[mod]] <- d[[mod]] - (min(d[[mod]]) + max(d[[mod]])) / 2
    ## pseudo() re-evaluates the survfit call in the global environment: put the data there
    assign(".pseudo_data", d, envir = globalenv())
    d$.pseudo <- pseudo(survfit(Surv(.time, .event) ~ 1, data = .pseudo_data), times = tau, type = "rmst")
    rhs <- paste(c(".treat", mod, covs, paste0(".treat:", mod)), collapse = " + ")
    fit <- lm(as.formula(paste(".pseudo ~", rhs)), data = d)
    V <- sandwich::vcovHC(fit, type = "HC0")
    k <- paste0(".treat:", mod)
    est <- coef(fit)[[k]]; se <- sqrt(V[k, k])
    return(list(rows = row_of("rmst", tp, mod, "", est, se, 2 * pnorm(-abs(est / se)), nrow(d)),
                pseudo = d$.pseudo))
  }
  d <- d[complete.cases(d[, c(".time", ".event", ".treat", mod)]), ]
  lv <- sort(unique(d[[mod]]))
  diffs <- c(); vars <- c(); cells <- NULL
  for (l in lv) {
    s1 <- d[d[[mod]] == l & d$.treat == 1, ]; s0 <- d[d[[mod]] == l & d$.treat == 0, ]
    r1 <- km_rmst(s1$.time, s1$.event, tau); r0 <- km_rmst(s0$.time, s0$.event, tau)
    cells <- rbind(cells, data.frame(moderator = mod, level = as.character(l), rmst_treated = r1[1], se_treated = r1[2],
                                     rmst_control = r0[1], se_control = r0[2], last_treated = r1[3], last_control = r0[3]))
    diffs <- c(diffs, r1[1] - r0[1]); vars <- c(vars, r1[2]^2 + r0[2]^2)
  }
  k <- length(lv); n <- nrow(d)
  est <- diffs[-1] - diffs[1]; se <- sqrt(vars[-1] + vars[1])
  terms <- if (mod_type == "categorical") as.character(lv[-1]) else ""
  out <- row_of("rmst", tp, mod, terms, est, se, 2 * pnorm(-abs(est / se)), n)
  if (mod_type == "categorical") {
    V <- matrix(vars[1], k - 1, k - 1) + diag(vars[-1], k - 1)
    out <- rbind(out, joint_row("rmst", tp, mod, est, V, n))
  }
  list(rows = out, cells = cells)
}

write_num_csv <- function(df, path) {
  for (c in names(df)) if (is.numeric(df[[c]])) df[[c]] <- ifelse(is.na(df[[c]]), "", num(df[[c]]))
  write.csv(df, path, row.names = FALSE, quote = TRUE, na = "")
}

zph_frame <- function(zph, mod) {
  t <- zph$table
  data.frame(moderator = mod, term = rownames(t), chisq = t[, "chisq"], df = t[, "df"], p = t[, "p"])
}

## Average effect (Cox of treat + covariates) and the KM absolute risk by the horizon per arm
## within each moderator level (summary(survfit, times = horizon): 1 - surv, Greenwood std.err)
average_row <- function(d, covs) {
  d <- d[complete.cases(d[, c(".time", ".event", ".treat", covs)]), ]
  f <- as.formula(paste("Surv(.time, .event) ~", paste(c(".treat", covs), collapse = " + ")))
  fit <- coxph(f, data = d, ties = "efron", control = ctl)
  ## median follow-up by the reverse Kaplan-Meier (censoring as the event)
  rev <- summary(survfit(Surv(d$.time, 1 - d$.event) ~ 1))$table[["median"]]
  data.frame(estimate = coef(fit)[[".treat"]], std_error = sqrt(vcov(fit)[".treat", ".treat"]), n = nrow(d),
             median_followup = rev)
}

risk_rows <- function(d, mod, tau) {
  d <- d[complete.cases(d[, c(".time", ".event", ".treat", mod)]), ]
  out <- NULL
  for (l in sort(unique(d[[mod]]))) for (a in c(1, 0)) {
    s <- d[d[[mod]] == l & d$.treat == a, ]
    sm <- summary(survfit(Surv(s$.time, s$.event) ~ 1), times = tau)
    out <- rbind(out, data.frame(moderator = mod, level = as.character(l), treat = a, risk = 1 - sm$surv,
                                 std_error = sm$std.err))
  }
  out
}

## The case's plan.yaml: arms, the time-to-event outcome, moderators (column, type), covariates
read_plan <- function(p) {
  o <- p$outcomes[[1]]
  list(treatment = p$data$treatment, treated = as.character(p$data$treated), control = as.character(p$data$control),
       time = o$time, event = o$event, horizon = o$horizon, event_value = o$event_value,
       moderators = lapply(p$moderators, function(m) c(m$column, m$type)),
       covariates = if (is.null(p$covariates)) character(0) else unlist(p$covariates))
}

## rows of the two arms with .treat (1 = treated), .time and .event (1 = event)
plan_data <- function(plan, d) {
  arm <- as.character(d[[plan$treatment]])
  d <- d[!is.na(arm) & arm %in% c(plan$treated, plan$control), ]
  d$.treat <- as.integer(as.character(d[[plan$treatment]]) == plan$treated)
  d$.time <- d[[plan$time]]
  d$.event <- d[[plan$event]]
  ## event_value (e.g. pbc's status 2 = death): that value is the event, any other is censored
  if (!is.null(plan$event_value))
    d$.event <- ifelse(is.na(d$.event), NA, as.integer(as.character(d$.event) == as.character(plan$event_value)))
  d
}
