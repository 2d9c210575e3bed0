## Reference results for the effectmod case 'covariate_codes': covariates declared
## {column: X, type: categorical} enter every model as k-1 indicators, as R's factor(X).
## Run inside this folder:  Rscript ref.R
## (reads ../btheb_linear/data.csv and ../colon_logistic/data.csv; writes data.csv and reference.csv).
## Needs base R; with the sandwich package also the HC3 rows, with lme4 and lmerTest the mixed rows.
options(warn = 1, stringsAsFactors = FALSE)
has_sandwich <- requireNamespace("sandwich", quietly = TRUE)
has_lmer <- requireNamespace("lmerTest", quietly = TRUE)

## ------------------------------- data --------------------------------------------------
## Beat the Blues (HSAUR::BtheB, as in btheb_linear) with a numeric site code added, derived
## deterministically from the id so that anyone can rebuild it: site = (7 * id) mod 5 + 1.
btheb <- read.csv("../btheb_linear/data.csv", check.names = FALSE, na.strings = c("", "NA"))
btheb$site <- (7 * btheb$id) %% 5 + 1
write.csv(btheb, "data.csv", row.names = FALSE, quote = TRUE, na = "")

rows <- list()
add <- function(case, outcome, timepoint, moderator, term, model, est, se, p, n) {
  rows[[length(rows) + 1]] <<- data.frame(case = case, outcome = outcome, timepoint = timepoint,
    moderator = moderator, term = term, model = model, estimate = est, std_error = se,
    p_value = p, n = n)
}

## ------------------------------- linear (plan_linear.yaml, plan_hc3.yaml) ---------------
## lm(y_t ~ treat * mod + bdi.pre + factor(site)); bdi_pre is the outcome's baseline, so it enters once.
d <- btheb[btheb$treatment %in% c("BtheB", "TAU"), ]
d$treat <- as.integer(d$treatment == "BtheB")
d$drug01 <- as.integer(d$drug == "Yes")        # reference "No"
d$length01 <- as.integer(d$length == ">6m")    # reference "<6m"
mods <- list(drug = "drug01", length = "length01", bdi_pre = "bdi.pre")
for (t in c("2", "4", "6", "8")) {
  y <- paste0("bdi.", t, "m")
  for (m in names(mods)) {
    mc <- mods[[m]]
    form <- if (m == "bdi_pre") {
      as.formula(sprintf("`%s` ~ treat * `bdi.pre` + factor(site)", y))
    } else {
      as.formula(sprintf("`%s` ~ treat * %s + `bdi.pre` + factor(site)", y, mc))
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
  fu <- c("2", "4", "6", "8")
  long <- do.call(rbind, lapply(fu, function(t) {
    data.frame(id = factor(d$id), time = t, treat = d$treat, drug01 = d$drug01, length01 = d$length01,
               bdi.pre = d$bdi.pre, site = d$site, y = d[[paste0("bdi.", t, "m")]])
  }))
  long <- long[!is.na(long$y), ]
  long$time <- factor(long$time, levels = fu)
  ctrl <- lme4::lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))
  for (m in names(mods)) {
    mc <- mods[[m]]
    form <- if (m == "bdi_pre") {
      y ~ time * treat * bdi.pre + factor(site) + (1 | id)
    } else {
      as.formula(sprintf("y ~ time * treat * %s + bdi.pre + factor(site) + (1 | id)", mc))
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
cd <- colon[colon$rx %in% c("Lev+5FU", "Obs"), ]
cd$treat <- as.integer(cd$rx == "Lev+5FU")
cd$differ_f <- relevel(factor(cd$differ), ref = "2")
for (m in c("sex", "age")) {
  form <- as.formula(sprintf("status ~ treat * %s + factor(extent) + differ_f + nodes", m))
  fit <- glm(form, family = binomial, data = cd, control = glm.control(epsilon = 1e-14, maxit = 100))
  term <- paste0("treat:", m)
  est <- unname(coef(fit)[term])
  se <- sqrt(vcov(fit)[term, term])
  add("logistic", "death", "end", m, "", "logistic", est, se, 2 * pnorm(-abs(est / se)), nobs(fit))
}

res <- do.call(rbind, rows)
fmt <- function(x) if (is.integer(x)) as.character(x) else if (is.numeric(x)) formatC(x, digits = 17, format = "g") else x
out <- as.data.frame(lapply(res, fmt))
write.csv(out, "reference.csv", row.names = FALSE, quote = FALSE)
print(res, digits = 8, row.names = FALSE)
