# coxph with case weights and delayed entry (counting-process Surv(entry, time, status)) on melanoma,
# for leiosurv's cause_specific_cox(weights=, entry=) (tests/stats/data/cox_entry_weights.json).
# Run from the repository root: Rscript tests/stats/data/cox_entry_weights.R
# Rows: ../shared/reference/melanoma.csv.  Entry rule (melanoma_delayed_entry.json): row i (1-based)
# enters at (3 * time) %/% 10 when i %% 3 == 0, else at 0.  Weight rule (melanoma_weights.json):
# w = 0.5 + 0.25 * ((i - 1) %% 4).  Model "months": time = (time + 29) %/% 30 (heavy ties),
# entry = (3 * time) %/% 10 in those months for the same rows (0 where that is not below time).
suppressMessages({library(survival); library(jsonlite)})
d <- read.csv("../shared/reference/melanoma.csv")
i <- seq_len(nrow(d))
d$entry <- ifelse(i %% 3 == 0, (3 * d$time) %/% 10, 0)
d$w <- 0.5 + 0.25 * ((i - 1) %% 4)
mo <- d
mo$time <- (d$time + 29) %/% 30
mo$entry <- ifelse(i %% 3 == 0, (3 * mo$time) %/% 10, 0)
mo$entry[mo$entry >= mo$time] <- 0
fmt <- function(x) sprintf("%.17g", x)
out <- list(software = list(R = R.version.string, survival = as.character(packageVersion("survival"))),
            rules = list(entry = "i %% 3 == 0 ? (3 * time) %/% 10 : 0 (i 1-based; months: 0 where not below time)",
                         weights = "0.5 + 0.25 * ((i - 1) %% 4)",
                         months = "time = (time + 29) %/% 30"))
covs <- c("ulcer", "thick", "sex", "age")
fits <- list()
for (data_name in c("days", "months")) {
  dd <- if (data_name == "days") d else mo
  for (kind in c("weights", "entry", "entry_weights")) {
    for (cause in 1:2) {
      for (ties in c("breslow", "efron")) {
        f <- switch(kind,
          weights = coxph(Surv(time, status == cause) ~ ulcer + thick + sex + age, data = dd, weights = w, ties = ties),
          entry = coxph(Surv(entry, time, status == cause) ~ ulcer + thick + sex + age, data = dd, ties = ties),
          entry_weights = coxph(Surv(entry, time, status == cause) ~ ulcer + thick + sex + age, data = dd,
                                weights = w, ties = ties))
        call <- switch(kind,
          weights = "coxph(Surv(time, status == %d) ~ ulcer + thick + sex + age, weights = w, ties = \"%s\")",
          entry = "coxph(Surv(entry, time, status == %d) ~ ulcer + thick + sex + age, ties = \"%s\")",
          entry_weights = "coxph(Surv(entry, time, status == %d) ~ ulcer + thick + sex + age, weights = w, ties = \"%s\")")
        bh <- basehaz(f, centered = FALSE)
        fits[[paste(data_name, kind, cause, ties, sep = "/")]] <- list(
          call = sprintf(call, cause, ties), data = data_name, kind = kind, cause = cause, ties = ties,
          coef = fmt(coef(f)), var = fmt(as.vector(f$var)),
          naive_var = if (is.null(f$naive.var)) NULL else fmt(as.vector(f$naive.var)),
          loglik = fmt(f$loglik), score = fmt(f$score), iterations = f$iter,
          basehaz_time = fmt(bh$time), basehaz = fmt(bh$hazard))
      }
    }
  }
}
out$covariates <- covs
out$fits <- fits
writeLines(toJSON(out, auto_unbox = TRUE, pretty = TRUE), "tests/stats/data/cox_entry_weights.json")
