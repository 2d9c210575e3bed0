#!/bin/sh
# Rerun the R reference scripts of tests/reference, each inside its case folder, and record in
# <case>/versions.txt the R version and the versions of the packages each script loaded.
#
#   tests/reference/regenerate.sh            every case, in the order below
#   tests/reference/regenerate.sh CASE ...   only these cases
#
# Then check with `git diff tests/reference`: a reference should change only beyond the 12th
# significant digit unless R or a package changed on purpose (see versions.txt).
# mi_e2e reads completed_XX.csv exported by an effectmod run (make_completed.py); this script
# does not re-export them, it only refits and pools the files in the folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

# case and its scripts; covariate_codes and mixed_extra read data.csv of earlier cases
CASES="
btheb_linear:ref.R
btheb_hc3:ref.R
btheb_mixed:ref.R
btheb_effects:ref.R
colon_logistic:ref.R
respiratory_logistic:ref.R
covariate_codes:ref.R
mixed_extra:ref.R
mi_e2e:ref.R
mi_pool:ref.R,md_pattern.R
mice_steps:ref.R
cluster_mixed:ref.R
cluster_achievement:ref.R
multiarm:ref.R
epil_count:ref.R
btheb_ordinal:ref.R
c_for_benefit:ref.R
colon_cox:ref.R
veteran_cox:ref.R
multiarm_cluster:ref.R
path_survival:ref.R
colon_cox3:ref.R
arms3_counts:ref.R
pbc_cox:ref.R
cgd_cox:ref.R
rhdnase_cox:ref.R
toenail_logistic:ref.R
"

scripts_of() {
  for entry in $CASES; do
    if [ "${entry%%:*}" = "$1" ]; then echo "${entry#*:}" | tr ',' ' '; return 0; fi
  done
  echo "regenerate.sh: unknown case '$1'" >&2
  return 1
}

if [ "$#" -gt 0 ]; then
  wanted="$*"
else
  wanted=$(for entry in $CASES; do echo "${entry%%:*}"; done)
fi
for case in $wanted; do
  scripts=$(scripts_of "$case")
  (cd "$here/$case" && Rscript "$here/versions.R" $scripts)
done
