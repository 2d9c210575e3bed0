## Reference results for the effectmod case 'covariate_codes': covariates declared
## {column: X, type: categorical} enter every model as k-1 indicators, as R's factor(X).
## Run inside this folder:  Rscript ref.R
## (reads the four plan_*.yaml, ../btheb_linear/data.csv and ../colon_logistic/data.csv; writes data.csv
## and reference.csv), or ../regenerate.sh covariate_codes (also writes versions.txt).
## Needs R with yaml; with the sandwich package also the HC3 rows, with lme4 and lmerTest the mixed rows.
options(warn = 1, stringsAsFactors = FALSE)
has_sandwich <- requireNamespace("sandwich", quietly = TRUE)
has_lmer <- requireNamespace("lmerTest", quietly = TRUE)

## ------------------------------- data --------------------------------------------------
## Beat the Blues (HSAUR::BtheB, as in btheb_linear) with a numeric site code added, derived
## deterministically from the id so that anyone can rebuild it: site = (7 * id) mod 5 + 1.
btheb <- read.csv("../btheb_linear/data.csv", check.names = FALSE, na.strings = c("", "NA"))
btheb$site <- (7 * btheb$id) %% 5 + 1
write.csv(btheb, "data.csv", row.names = FALSE, quote = TRUE, na = "")

## ------------------------------- the plans ---------------------------------------------
## The models below are written out as R formulas; their ingredients come from the plans, and
## what the formulas assume of the plans is checked, so that the two cannot drift apart.
plans <- lapply(c(linear = "plan_linear.yaml", hc3 = "plan_hc3.yaml", mixed = "plan_mixed.yaml",
                  logistic = "plan_logistic.yaml"), yaml::read_yaml)
same_parts <- c("data", "outcomes", "moderators", "covariates")
stopifnot(identical(plans$hc3[same_parts], plans$linear[same_parts]),
          identical(plans$mixed[same_parts], plans$linear[same_parts]),
          plans$linear$analysis$model == "linear", plans$linear$analysis$se == "classical",
          plans$hc3$analysis$model == "linear", plans$hc3$analysis$se == "HC3",
          plans$mixed$analysis$model == "mixed",
          plans$logistic$analysis$model == "linear", plans$logistic$analysis$se == "classical",
          identical(plans$linear$covariates, list(list(column = "site", type = "categorical"))),
          identical(plans$logistic$covariates,
                    list(list(column = "extent", type = "categorical"),
                         list(column = "differ", type = "categorical", reference = 2L), "nodes")))
bp <- plans$linear
stopifnot(length(bp$outcomes) == 1, isTRUE(bp$analysis$adjust_for_baseline))
BASELINE <- bp$outcomes[[1]]$baseline
FOLLOWUPS <- vapply(bp$outcomes[[1]]$followups, as.character, "")
## moderator name -> model column: a binary moderator as 1 = not the reference level
MODS <- vapply(bp$moderators, function(m) if (m$type == "binary") paste0(m$column, "01") else m$column, "")
names(MODS) <- vapply(bp$moderators, `[[`, "", "name")
binary01 <- function(d, moderators) {
  for (m in moderators) if (m$type == "binary") {
    ref <- as.character(m$reference)
    stopifnot(ref %in% as.character(d[[m$column]]))
    d[[paste0(m$column, "01")]] <- as.integer(as.character(d[[m$column]]) != ref)
  }
  d
}
lp <- plans$logistic
stopifnot(length(lp$outcomes) == 1, lp$outcomes[[1]]$type == "binary", lp$outcomes[[1]]$event == 1,
          identical(names(lp$outcomes[[1]]$followups), "end"))

rows <- list()
add <- function(case, outcome, timepoint, moderator, term, model, est, se, p, n) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, outcome = outcome, timepoint = timepoint,
    moderator = moderator, term = term, model = model, estimate = est, std_error = se,
    p_value = p, n = n)
}

## ------------------------------- linear (plan_linear.yaml, plan_hc3.yaml) ---------------
## lm(y_t ~ treat * mod + bdi.pre + factor(site)); bdi_pre is the outcome's baseline, so it enters once.
d <- btheb[btheb[[bp$data$treatment]] %in% c(bp$data$treated, bp$data$control), ]
d$treat <- as.integer(d[[bp$data$treatment]] == bp$data$treated)
d <- binary01(d, bp$moderators)
mods <- as.list(MODS)
for (t in names(FOLLOWUPS)) {
  y <- FOLLOWUPS[[t]]
  for (m in names(mods)) {
    mc <- mods[[m]]
    form <- if (mc == BASELINE) {
      as.formula(sprintf("`%s` ~ treat * `%s` + factor(site)", y, BASELINE))
    } else {
      as.formula(sprintf("`%s` ~ treat * `%s` + `%s` + factor(site)", y, mc, BASELINE))
    }
    fit <- lm(form, data = d)
    term <- grep("^treat:", names(coef(fit)), value = TRUE)
    est <- unname(coef(fit)[term])
    V <- vcov(fit)
    se <- sqrt(V[term, term])
    p <- 2 * pt(-abs(est / se), df.residual(fit))
    add("linear", "bdi", t, m, "", "linear", est, se, p, nobs(fit))
    if (has_sandwich) {
      se3 <- sqrt(sandwich::vcovHC(fit, type = "HC3")[term, term])
      add("hc3", "bdi", t, m, "", "linear", est, se3, 2 * pt(-abs(est / se3), df.residual(fit)), nobs(fit))
    }
  }
}

## ------------------------------- mixed (plan_mixed.yaml) --------------------------------
## lmerTest::lmer(y ~ time * treat * mod + bdi.pre + factor(site) + (1 | id), REML), time a
## factor (2, 4, 6, 8); the treat x mod contrast at each follow-up, Satterthwaite df.
if (has_lmer) {
  fu <- names(FOLLOWUPS)
  long <- do.call(rbind, lapply(fu, function(t) {
    x <- data.frame(id = factor(d[[bp$data$id]]), time = t, treat = d$treat, site = d$site,
                    y = d[[FOLLOWUPS[[t]]]])
    for (mc in unique(c(MODS, BASELINE))) x[[mc]] <- d[[mc]]
    x
  }))
  long <- long[!is.na(long$y), ]
  long$time <- factor(long$time, levels = fu)
  ctrl <- lme4::lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
  for (m in names(mods)) {
    mc <- mods[[m]]
    form <- if (mc == BASELINE) {
      as.formula(sprintf("y ~ time * treat * `%s` + factor(site) + (1 | id)", BASELINE))
    } else {
      as.formula(sprintf("y ~ time * treat * `%s` + `%s` + factor(site) + (1 | id)", mc, BASELINE))
    }
    fit <- lmerTest::lmer(form, data = long, REML = TRUE, control = ctrl)
    beta <- lme4::fixef(fit)
    base <- paste0("treat:", mc)
    for (t in fu) {
      L <- setNames(numeric(length(beta)), names(beta))
      L[base] <- 1
      if (t != fu[1]) L[paste0("time", t, ":", base)] <- 1
      ct <- lmerTest::contest1D(fit, L, ddf = "Satterthwaite")
      add("mixed", "bdi", t, m, "", "mixed", ct[["Estimate"]], ct[["Std. Error"]], ct[["Pr(>|t|)"]],
          length(unique(long$id)))
    }
  }
}

## ------------------------------- logistic (plan_logistic.yaml) ----------------------------
## colon (survival::colon, as in colon_logistic): death ~ treat * mod + factor(extent)
## + factor(differ, reference 2) + nodes, complete cases, Wald z.
colon <- read.csv("../colon_logistic/data.csv")
cd <- colon[colon[[lp$data$treatment]] %in% c(lp$data$treated, lp$data$control), ]
cd$treat <- as.integer(cd[[lp$data$treatment]] == lp$data$treated)
cd <- binary01(cd, lp$moderators)
cd$differ_f <- relevel(factor(cd$differ), ref = "2")
y <- lp$outcomes[[1]]$followups$end
for (mod in lp$moderators) {
  m <- mod$name
  mc <- if (mod$type == "binary") paste0(mod$column, "01") else mod$column
  form <- as.formula(sprintf("`%s` ~ treat * `%s` + factor(extent) + differ_f + nodes", y, mc))
  fit <- glm(form, family = binomial, data = cd, control = glm.control(epsilon = 1e-14, maxit = 100))
  term <- paste0("treat:", mc)
  est <- unname(coef(fit)[term])
  se <- sqrt(vcov(fit)[term, term])
  add("logistic", "death", "end", m, "", "logistic", est, se, 2 * pnorm(-abs(est / se)), nobs(fit))
}

res <- do.call(rbind, rows)
fmt <- function(x) if (is.integer(x)) as.character(x) else if (is.numeric(x)) formatC(x, digits = 17, format = "g") else x
out <- as.data.frame(lapply(res, fmt))
write.csv(out, "reference.csv", row.names = FALSE, quote = FALSE)
print(res, digits = 8, row.names = FALSE)
