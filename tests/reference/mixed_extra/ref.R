## Reference numbers for effectmod's random-intercept REML engine (tests/test_engine_mixed.py).
## Run inside this folder:  Rscript ref.R
## Reads ../btheb_mixed/data.csv; writes sim_boundary.csv (a simulated dataset), design_<case>.csv
## (y, id and R's model matrix for each case) and reference.csv (long: case, quantity, label, value).
## Needs R with lme4 and lmerTest.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})
options(warn = 1, stringsAsFactors = FALSE)

ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))

## BtheB in long form, as the btheb_mixed case's fit_mixed builds it: participants with the
## moderator and baseline observed, one row per observed follow-up, time a factor ("2" first)
btheb_long <- function(mod_fun) {
  d <- read.csv("../btheb_mixed/data.csv", check.names = FALSE)
  base <- data.frame(id = d$id, TR = as.integer(d$treatment == "BtheB"), B = d$bdi.pre)
  base$M <- mod_fun(d)
  base <- base[complete.cases(base), ]
  fu <- c("2" = "bdi.2m", "4" = "bdi.4m", "6" = "bdi.6m", "8" = "bdi.8m")
  long <- do.call(rbind, lapply(names(fu), function(t) {
    x <- base
    x$time <- t
    x$Y <- d[[fu[[t]]]][match(base$id, d$id)]
    x
  }))
  long <- long[!is.na(long$Y), ]
  long$time <- factor(long$time, levels = names(fu))
  long$id <- factor(long$id)
  long
}

## a simulated trial with no between-participant variance, so that REML hits the boundary
sim_boundary <- function() {
  for (seed in 1:1000) {
    set.seed(seed)
    n <- 40
    ids <- rep(seq_len(n), each = 3)
    TR <- rep(rbinom(n, 1, 0.5), each = 3)
    M <- rep(round(rnorm(n, 10, 3), 2), each = 3)
    time <- rep(c("1", "2", "3"), n)
    keep <- runif(3 * n) > 0.15
    Y <- round(5 + 0.5 * (time == "2") + TR + 0.2 * M + rnorm(3 * n, 0, 2), 3)
    s <- data.frame(id = ids, time = time, TR = TR, M = M, Y = Y)[keep, ]
    s$time <- factor(s$time, levels = c("1", "2", "3"))
    s$id <- factor(s$id)
    fit <- suppressMessages(lmerTest::lmer(Y ~ time * TR * M + (1 | id), data = s, REML = TRUE, control = ctrl))
    if (isSingular(fit)) {
      write.csv(data.frame(id = as.integer(as.character(s$id)), time = as.character(s$time),
                           TR = s$TR, M = s$M, Y = s$Y), "sim_boundary.csv", row.names = FALSE)
      return(s)
    }
  }
  stop("no singular simulated dataset found")
}

out <- list()
add <- function(case, quantity, label, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, quantity = quantity, label = label, value = value)
}

run <- function(case, long, form, levels_hi = NULL) {
  fit <- suppressMessages(lmerTest::lmer(form, data = long, REML = TRUE, control = ctrl))
  X <- model.matrix(fit)
  write.csv(data.frame(y = long$Y, id = as.character(long$id), X, check.names = FALSE),
            paste0("design_", case, ".csv"), row.names = FALSE)
  beta <- fixef(fit)
  V <- as.matrix(vcov(fit))
  for (i in seq_along(beta)) add(case, "coef", names(beta)[i], beta[[i]])
  for (i in seq_along(beta)) for (j in seq_along(beta))
    add(case, "vcov", paste(names(beta)[i], names(beta)[j], sep = "|"), V[i, j])
  vc <- as.data.frame(VarCorr(fit))
  add(case, "varcomp", "sigma2_subject", vc$vcov[vc$grp == "id"])
  add(case, "varcomp", "sigma2_residual", vc$vcov[vc$grp == "Residual"])
  add(case, "remlcrit", "", REMLcrit(fit))
  add(case, "singular", "", as.numeric(isSingular(fit)))
  times <- levels(long$time)
  hi <- if (is.null(levels_hi)) "" else levels_hi
  # a joint test with a redundant row (first two follow-ups and their sum): contestMD drops it
  Lt <- function(t) {
    L <- setNames(numeric(length(beta)), names(beta))
    L[[paste0("TR:M", hi[1])]] <- 1
    if (t != times[1]) L[[paste0("time", t, ":TR:M", hi[1])]] <- 1
    L
  }
  Lr <- rbind(Lt(times[1]), Lt(times[2]), Lt(times[1]) + Lt(times[2]))
  for (k in 2:3) {
    ct <- lmerTest::contestMD(fit, Lr[1:k, ], ddf = "Satterthwaite")
    add(case, "F_rows", k, ct[["F value"]])
    add(case, "NumDF_rows", k, ct[["NumDF"]])
    add(case, "DenDF_rows", k, ct[["DenDF"]])
  }
  for (t in times) {
    Ls <- list()
    for (h in hi) {
      L <- setNames(numeric(length(beta)), names(beta))
      L[[paste0("TR:M", h)]] <- 1
      if (t != times[1]) L[[paste0("time", t, ":TR:M", h)]] <- 1
      Ls[[length(Ls) + 1]] <- L
      ct <- lmerTest::contest1D(fit, L, ddf = "Satterthwaite")
      lab <- paste(t, h, sep = "|")
      add(case, "estimate", lab, ct[["Estimate"]])
      add(case, "std_error", lab, ct[["Std. Error"]])
      add(case, "df", lab, ct[["df"]])
      add(case, "p_value", lab, ct[["Pr(>|t|)"]])
    }
    if (length(hi) > 1) {
      ct <- lmerTest::contestMD(fit, do.call(rbind, Ls), ddf = "Satterthwaite")
      add(case, "F", t, ct[["F value"]])
      add(case, "NumDF", t, ct[["NumDF"]])
      add(case, "DenDF", t, ct[["DenDF"]])
      add(case, "p_joint", t, ct[["Pr(>F)"]])
    }
  }
}

run("btheb_drug", btheb_long(function(d) as.integer(d$drug != "No")), Y ~ time * TR * M + B + (1 | id))
tert <- function(d) {
  cut(d$bdi.pre, quantile(d$bdi.pre, c(0, 1 / 3, 2 / 3, 1)), include.lowest = TRUE,
      labels = c("low", "mid", "high"))
}
run("btheb_tertile", btheb_long(tert), Y ~ time * TR * M + B + (1 | id), levels_hi = c("mid", "high"))
run("sim_boundary", sim_boundary(), Y ~ time * TR * M + (1 | id))

res <- do.call(rbind, out)
res$value <- sprintf("%.17g", res$value)
write.csv(res, "reference.csv", row.names = FALSE, quote = TRUE)
print(res[res$quantity %in% c("varcomp", "remlcrit", "df", "DenDF", "singular"), ], row.names = FALSE)
