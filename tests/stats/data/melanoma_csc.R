# Made the reference values in melanoma_csc.json: run from the repository root,
#   Rscript tests/stats/data/melanoma_csc.R
# (R 4.2.2, survival 3.5-3, riskRegression 2022.11.28; jsonlite writes 15 significant digits).
suppressMessages({library(survival); library(riskRegression); library(jsonlite)})
d <- read.csv("../shared/reference/melanoma.csv")
prof <- data.frame(ulcer=c(0,1), thick=c(0,1), sex=c(0,1), age=c(50,65))
out <- list()
for (ties in c("breslow","efron")) {
  for (model in c("main","main_months_ties")) {
    dd <- d
    hz <- c(365.25, 730.5, 1826.25)
    if (model == "main_months_ties") { dd$time <- (dd$time + 29) %/% 30; hz <- c(12,24,60) }
    fit <- CSC(Hist(time, status) ~ ulcer + thick + sex + age, data = dd, cause = 1, ties = ties)
    r1 <- predictRisk(fit, newdata = prof, times = hz, cause = 1)
    r2 <- predictRisk(fit, newdata = prof, times = hz, cause = 2)
    # whole curve on all distinct times
    ut <- sort(unique(dd$time))
    c1 <- predictRisk(fit, newdata = prof, times = ut, cause = 1)
    bh1 <- predictCox(fit$models[[1]], times = ut, centered = FALSE, type = "cumhazard")$cumhazard
    bh2 <- predictCox(fit$models[[2]], times = ut, centered = FALSE, type = "cumhazard")$cumhazard
    out[[model]][[ties]] <- list(
      call = sprintf('riskRegression::predictRisk(CSC(Hist(time, status) ~ ulcer + thick + sex + age, data, cause = 1, ties = "%s"), newdata = profiles, times = horizons, cause = k)', ties),
      coef_cause1 = as.list(coef(fit$models[[1]])), coef_cause2 = as.list(coef(fit$models[[2]])),
      horizons = hz, cause1 = list(A = r1[1,], B = r1[2,]), cause2 = list(A = r2[1,], B = r2[2,]),
      curve_time = ut, curve_cause1 = list(A = c1[1,], B = c1[2,]),
      baseline_cumhazard_cause1 = as.vector(bh1), baseline_cumhazard_cause2 = as.vector(bh2))
  }
}
out$profiles <- list(A = list(ulcer=0,thick=0,sex=0,age=50), B = list(ulcer=1,thick=1,sex=1,age=65))
out$software <- list(R = R.version.string, survival = as.character(packageVersion("survival")), riskRegression = as.character(packageVersion("riskRegression")))
out$baseline_call <- 'riskRegression::predictCox(fit$models[[k]], times = sort(unique(time)), centered = FALSE, type = "cumhazard")'
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/stats/data/melanoma_csc.json")
