"""Running a study: the config check (:mod:`.config_check`, which asks the libraries what
exists), fit and evaluate one run (:mod:`.runner`), the hyperparameter searches (:mod:`.tuning`,
:mod:`.tuning_curves`) and the summary across seeds (:mod:`.summarize`).
"""
