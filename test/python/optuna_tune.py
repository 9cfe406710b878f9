"""Optuna's side of bench/tuning.ts: a TPE study whose SuccessiveHalvingPruner stops
trials at the same rungs hepflow's ASHA uses, driving hepflow's own trainer
(bench/lib/tune-trainer.ts --serve) so both tuners pay for identical training.

Usage: optuna_tune.py <node> <trainer.js> <dataset dir> <scratch dir> <trials> <min epochs> <max epochs> <eta> <seed>
Prints one JSON object: each trial-rung's AUC and CPU seconds (the trainer's plus this
process's own, Optuna's sampling and pruning included), in the order they ran.
"""
import json
import subprocess
import sys
import time

import optuna

node, trainer, dataset, scratch = sys.argv[1:5]
trials, min_epochs, max_epochs, eta, seed = (int(x) for x in sys.argv[5:10])

rungs = []
e = min_epochs
while e < max_epochs:
    rungs.append(e)
    e *= eta
rungs.append(max_epochs)

server = subprocess.Popen(
    [node, trainer, "--serve", dataset, scratch], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
)
steps = []


def train(trial_id, params, epochs):
    server.stdin.write(json.dumps({"trial": trial_id, "params": params, "epochs": epochs}) + "\n")
    server.stdin.flush()
    return json.loads(server.stdout.readline())


def objective(trial):
    # The same space as hepflow's (bench/tuning.ts SPACE), in Optuna's words.
    params = {
        "batchSize": trial.suggest_categorical("batchSize", [32, 64, 128, 256]),
        "learningRate": trial.suggest_float("learningRate", 1e-4, 3e-2, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "hiddenUnits": trial.suggest_int("hiddenUnits", 10, 200, log=True),
    }
    trial_id = f"optuna{trial.number:03d}"
    auc = float("nan")
    for k, epochs in enumerate(rungs):
        own = time.process_time()
        r = train(trial_id, params, epochs)
        auc = r["valMeanAuc"]
        trial.report(auc, epochs)
        prune = trial.should_prune()
        steps.append({"trial": trial_id, "rung": k, "auc": auc, "cpu": r["cpuSeconds"] + time.process_time() - own})
        if prune:
            raise optuna.TrialPruned()
    return auc


optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(
    direction="maximize",
    sampler=optuna.samplers.TPESampler(seed=seed),
    pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=min_epochs, reduction_factor=eta),
)
study.optimize(objective, n_trials=trials)
server.stdin.close()
server.wait()
print(json.dumps({"optuna": optuna.__version__, "steps": steps}))
