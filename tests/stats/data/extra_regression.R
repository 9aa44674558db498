# Extra crr / coxph reference values for leiosurv (tests/stats/data/extra_regression.json).
# Run from the repository root: Rscript tests/stats/data/extra_regression.R
suppressMessages({library(survival); library(cmprsk); library(jsonlite)})
ref <- "../shared/reference/"
out <- list(software = list(R = R.version.string, cmprsk = as.character(packageVersion("cmprsk")),
                            survival = as.character(packageVersion("survival"))))
fmt <- function(x) sprintf("%.17g", x)
one <- function(d, covs, cause, label, note) {
  d <- d[complete.cases(d[, covs]), ]  # as crr and coxph's na.omit; leiosurv drops no row itself
  X <- as.matrix(d[, covs, drop = FALSE])
  f <- crr(d$time, d$status, cov1 = X, failcode = cause, cencode = 0)
  p <- predict(f, cov1 = rbind(colMeans(X), apply(X, 2, max)))
  res <- list(note = note, covariates = covs, cause = cause,
    call = sprintf("cmprsk::crr(time, status, cov1 = cbind(%s), failcode = %d, cencode = 0)", paste(covs, collapse = ", "), cause),
    coef = fmt(f$coef), se = fmt(sqrt(diag(f$var))), var = fmt(as.vector(f$var)), loglik = fmt(f$loglik),
    converged = f$converged, uftime = fmt(f$uftime), bfitj = fmt(f$bfitj),
    predict_call = "predict.crr(fit, cov1 = rbind(colMeans(X), apply(X, 2, max)))",
    predict_mean = fmt(p[, 2]), predict_max = fmt(p[, 3]))
  for (ties in c("breslow", "efron")) {
    cf <- coxph(Surv(d$time, d$status == cause) ~ X, ties = ties)
    res$coxph[[ties]] <- list(call = sprintf('survival::coxph(Surv(time, status == %d) ~ %s, ties = "%s")', cause, paste(covs, collapse = " + "), ties),
      coef = fmt(coef(cf)), var = fmt(as.vector(cf$var)), loglik = fmt(cf$loglik), iterations = cf$iter)
  }
  out[[label]] <<- res
}
s <- read.csv(paste0(ref, "synth_ties.csv"))
one(s, c("group", "age"), 1, "synth_ties_cause1", "synth_ties: integer months, events and censorings tied")
one(s, c("group", "age"), 2, "synth_ties_cause2", "synth_ties, cause 2 as the cause of interest")
m <- read.csv(paste0(ref, "mgus2.csv"))
one(m, c("male", "age", "hgb", "creat", "mspike"), 1, "mgus2_cause1", "mgus2: cause 1 = progression, 5 covariates")
# time-zero rows: crr reads G at time*(1-100 eps), which is G(0) (not G(0-)) at time 0
z <- read.csv(paste0(ref, "melanoma.csv"))
z$time[c(3, 8, 40, 41)] <- 0
z$status[c(3, 8)] <- c(0, 2)
one(z, c("ulcer", "thick", "age"), 1, "melanoma_time_zero", "melanoma with rows 3, 8, 40, 41 (1-based) set to time 0; rows 3 and 8 status 0 and 2")
writeLines(toJSON(out, auto_unbox = TRUE, pretty = TRUE), "tests/stats/data/extra_regression.json")
