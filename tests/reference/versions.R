## Run R reference scripts in the current folder, then write versions.txt: the R version, the
## BLAS/LAPACK in use and the version of every package the scripts loaded (not the base
## packages that come with R itself).
## Usage, inside a case folder:  Rscript ../versions.R ref.R [other.R ...]
## (tests/reference/regenerate.sh calls it for every case.)
scripts <- commandArgs(trailingOnly = TRUE)
stopifnot(length(scripts) >= 1, all(file.exists(scripts)))
for (s in scripts) {
  cat("== ", basename(getwd()), "/", s, "\n", sep = "")
  source(s, local = new.env(parent = globalenv()), echo = FALSE)
}
base_pkgs <- rownames(installed.packages(priority = "base"))
## data(x, package = "p") reads a dataset without loading p's namespace: add those packages too
src <- unlist(lapply(scripts, readLines))
data_pkgs <- unlist(regmatches(src, gregexpr('(?<=package = ")[A-Za-z0-9.]+(?=")', src, perl = TRUE)))
loaded <- sort(setdiff(unique(c(loadedNamespaces(), data_pkgs)), base_pkgs))
si <- sessionInfo()
lines <- c(
  "# R and packages that produced this folder's reference files (written by ../regenerate.sh).",
  paste("scripts:", paste(scripts, collapse = " ")),
  paste("R:", R.version.string),
  paste("platform:", R.version$platform),
  paste("BLAS:", basename(si$BLAS)),      # the library, not where this machine keeps it
  paste("LAPACK:", basename(si$LAPACK)),
  "packages (loaded by the scripts, with their dependencies):",
  vapply(loaded, function(p) paste0("  ", p, " ", utils::packageDescription(p)$Version), "")
)
writeLines(lines, "versions.txt")
