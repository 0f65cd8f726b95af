"""Writes intro.ipynb beside this file: the notebook as reviewable code, without outputs
(tests/test_notebook.py executes it and checks it is what this script writes).

    python examples/notebooks/make_intro.py
"""

from pathlib import Path

import nbformat as nbf

nb = nbf.v4.new_notebook()
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md(
        "# The intro lecture with nndsl\n\nA perceptron, what activation functions change, "
        "what the learning rate does, and overfitting, each a model you can read. "
        "`%load_ext nndsl` gives the `%%nndsl NAME` cell magic: the cell is a `.nn` file, "
        "and `NAME` the checked program."
    ),
    code("import nndsl\n%load_ext nndsl"),
    md(
        "## 1. A perceptron\n\nOne unit: a weighted sum and a sigmoid. It separates what a "
        "straight line can separate (`grades`: pass or fail by two marks)..."
    ),
    code(
        "%%nndsl perceptron\n"
        "model perceptron {\n    input(2)\n    dense(1, activation=sigmoid)\n}\n"
        'train perceptron {\n    data       = synthetic("grades", n=300)\n'
        "    validation = 0.2\n    loss       = binary_crossentropy\n"
        "    optimizer  = adam(lr=0.1)\n    epochs     = 60\n    metrics    = [accuracy]\n}"
    ),
    code("model = perceptron.build(seed=0)\nmodel.summary()"),
    code("history = model.fit()  # the bar and the curves update in place\nhistory"),
    md("...but not XOR: no line puts (0,0) and (1,1) on one side and (0,1), (1,0) on the other."),
    code(
        "xor_perceptron = nndsl.compile_string(\n"
        "    perceptron.source.replace('synthetic(\"grades\", n=300)', "
        "'synthetic(\"xor\", n=300)')\n)\n"
        "h = xor_perceptron.build(seed=0).fit(verbose=0)\n"
        "print(f\"perceptron on XOR: validation accuracy {h['val_accuracy'][-1]:.2f}\")\n"
        "assert h['val_accuracy'][-1] < 0.8"
    ),
    md(
        "## 2. Activation functions\n\nA hidden layer solves XOR, and the choice of its "
        "activation changes how fast. The same file, three activations:"
    ),
    code(
        "SOURCE = '''\nmodel hidden {{\n    input(2)\n    dense(16, activation={act})\n"
        "    dense(1, activation=sigmoid)\n}}\ntrain hidden {{\n"
        '    data       = synthetic("xor", n=300)\n    validation = 0.2\n'
        "    loss       = binary_crossentropy\n    optimizer  = adam(lr=0.05)\n"
        "    epochs     = 40\n    metrics    = [accuracy]\n}}\n'''\n"
        "for act in ['sigmoid', 'tanh', 'relu']:\n"
        "    h = nndsl.compile_string(SOURCE.format(act=act)).build(seed=0).fit(verbose=0)\n"
        "    first = next((e + 1 for e, a in enumerate(h['val_accuracy']) if a >= 0.95), None)\n"
        '    print(f"{act:8} 95% validation accuracy at epoch {first}, "\n'
        "          f\"final {h['val_accuracy'][-1]:.2f}\")\n"
        "    assert h['val_accuracy'][-1] > 0.8"
    ),
    md(
        "## 3. The learning rate\n\nToo small and gradient descent crawls: after 40 epochs "
        "at 0.001 the loss has hardly moved. `overrides` replaces a train setting, as `--set` "
        "does on the command line:"
    ),
    code(
        "final = {}\n"
        "for lr in [0.001, 0.1, 5.0]:\n"
        "    p = nndsl.compile_string(SOURCE.format(act='tanh'), "
        "overrides=[f'optimizer=sgd(lr={lr})'])\n"
        "    final[lr] = p.build(seed=0).fit(verbose=0)['loss'][-1]\n"
        "    print(f'lr {lr:<6} final training loss {final[lr]:.3f}')\n"
        "assert final[0.1] < final[0.001]"
    ),
    md(
        "## 4. Overfitting, dropout and early stopping\n\nA large network on 60 noisy "
        "points learns the noise: the training loss falls while the validation loss turns "
        "up. Dropout and early stopping (with the best weights restored) hold it back."
    ),
    code(
        "%%nndsl overfit\n"
        "model big {\n    input(2)\n    dense(128, activation=relu)\n"
        "    dense(128, activation=relu)\n    dense(1, activation=sigmoid)\n}\n"
        'train big {\n    data       = synthetic("moons", n=60, noise=0.35)\n'
        "    validation = 0.5\n    loss       = binary_crossentropy\n"
        "    optimizer  = adam(lr=0.01)\n    epochs     = 150\n}"
    ),
    code(
        "h = overfit.build(seed=0).fit(verbose=0)\n"
        "best = min(range(len(h)), key=lambda e: h['val_loss'][e])\n"
        'print(f"best validation loss at epoch {best + 1}; by the end it is "\n'
        "      f\"{h['val_loss'][-1] / h['val_loss'][best]:.1f}x that\")\n"
        "assert h['loss'][-1] < h['loss'][best] and h['val_loss'][-1] > h['val_loss'][best]\n"
        "h"
    ),
    code(
        "%%nndsl regularized\n"
        "model big {\n    input(2)\n    dense(128, activation=relu)\n"
        "    dense(128, activation=relu)\n    dropout(0.5)\n    dense(1, activation=sigmoid)\n}\n"
        'train big {\n    data       = synthetic("moons", n=60, noise=0.35)\n'
        "    validation = 0.5\n    loss       = binary_crossentropy\n"
        "    optimizer  = adam(lr=0.01)\n    epochs     = 150\n"
        "    early_stop = (monitor=val_loss, patience=10, restore_best=true)\n}"
    ),
    code(
        'h = regularized.build(seed=0).fit(verbose=0)\nprint(f"stopped after {len(h)} epochs")\nh'
    ),
    md(
        "## 5. Mistakes\n\nA mistake in a cell is shown as `nndsl check` shows it: where, "
        "the line, a caret and a hint; no Python traceback."
    ),
    nbf.v4.new_code_cell(
        "%%nndsl typo\nmodel m {\n    input(2)\n    dense(8, activaton=relu)\n}",
        metadata={"tags": ["raises-exception"]},
    ),
]
nb.cells = cells
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, Path(__file__).with_name("intro.ipynb"))
