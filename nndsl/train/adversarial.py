"""A generative adversarial network's training: two engines, the generator's and the
discriminator's, driven as one behind the interface the shared Trainer knows (batches,
logs, weights, optimizer state), so epochs, validation, early stopping, schedules,
checkpoints, resume and the NaN stop work for a GAN as for any model.

Each batch of real samples: the generator makes as many samples from fresh noise; the
discriminator's loss (nndsl.ir.adversarial) on both is recorded and, when the
discriminator trains (d_steps >= 1), differentiated and stepped (a Wasserstein critic's
gradient penalty added at random points between real and generated samples). Every
`d_steps` batches (every batch with d_steps = 0 or 1) the generator takes a step: new
noise, its samples through the discriminator, the generator's loss differentiated back
through the discriminator (whose weights do not move) into the generator.

Noise, and the mixing weights of the gradient penalty, come from one generator of the
run's seed, saved in checkpoints: a resumed NumPy run is bit-identical to an unbroken one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from nndsl.backends.base import Engine, NonFiniteLoss, batch_means
from nndsl.errors import NNDSLError
from nndsl.ir.adversarial import (
    GAN_LOSSES,
    discriminator_loss,
    first_kink,
    gan_columns,
    generator_loss,
)
from nndsl.ir.signature import Spec


class Adversarial:
    """The generator's and the discriminator's engines as one engine for the Trainer.

    The generator's inputs are the noise, then (a conditional GAN) the class; the
    discriminator's a sample, then the class. Data is real samples (with their class):
    prepared by the discriminator's engine, whose inputs they are."""

    def __init__(
        self,
        generator: Engine,
        discriminator: Engine,
        loss: Spec,
        d_steps: int = 1,
        seed: int = 0,
        names: tuple[str, str] = ("generator", "discriminator"),
    ) -> None:
        self.g, self.d = generator, discriminator
        self.name, self.dtype = generator.name, generator.dtype
        self.losses_on_host = generator.losses_on_host
        self.graph, self.full_graph = generator.graph, generator.full_graph
        self.optimizer = generator.optimizer
        self.loss = loss
        entry = GAN_LOSSES[loss.name]
        self.args = {p.name: p.default for p in entry.params} | dict(loss.args)
        self.penalty = float(self.args.get("gradient_penalty", 0.0))
        kink = first_kink(discriminator.full_graph) if self.penalty else None
        if kink is not None and discriminator.penalty_by_differences:
            raise NNDSLError(
                f"the {discriminator.name} backend's gradient penalty needs a critic whose "
                f"gradient has no kink, but layer {kink} of '{names[1]}' has one",
                hint="use elu, silu, gelu or tanh in the critic (and no max pooling), or "
                "train on --backend torch",
            )
        self.d_loss, self.g_loss = discriminator_loss(loss.name), generator_loss(loss.name)
        self.accuracy = entry.extra["accuracy"]
        self.d_steps = d_steps
        self.seed = seed
        self.names = names
        self.noise_shape = tuple(generator.full_graph.inputs[0].shape)
        self.conditional = len(generator.full_graph.inputs) == 2
        self.rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x6A3])  # noise, mixing
        self.columns = gan_columns(loss.name)
        self._base_lrs = (generator.lr, discriminator.lr)

    # ------------------------------------------------------------------ data
    def prepare(self, x: Any, y: Any | None = None) -> Any:
        """Real samples `x` (and, conditional, their classes `y`) on the device."""
        if self.conditional:
            if y is None:
                raise NNDSLError(
                    "this GAN is conditional: it needs the class of every real sample",
                    hint="give the data's labels as y (a train block's data has them)",
                )
            labels = np.asarray(y).reshape(len(y), *self.d.full_graph.inputs[1].shape)
            self._check_classes(labels, "the data's classes")
            self._check_samples(x)
            return self.d.prepare([x, labels], None)
        self._check_samples(x)
        return self.d.prepare(x, None)

    def _check_samples(self, x: Any) -> None:
        """Real samples of the shape the generator makes and the discriminator takes."""
        if isinstance(x, (list, tuple, dict)):
            return  # several arrays: the engine checks each
        x = np.asarray(x)
        shape = tuple(self.d.full_graph.inputs[0].shape)
        if x.shape[1:] != shape:
            raise NNDSLError(
                f"the data's samples have shape {x.shape[1:]}, but the generator "
                f"'{self.names[0]}' makes and the discriminator '{self.names[1]}' takes "
                f"{shape}",
                hint="a GAN learns to make samples like the data's: give both models the "
                f"data's shape, input({', '.join(map(str, x.shape[1:]))})",
            )

    def _check_classes(self, labels: np.ndarray, what: str) -> None:
        """Class labels are whole numbers each embedding that reads them can look up."""
        labels = np.asarray(labels)
        if labels.size == 0:
            return
        if labels.dtype.kind not in "iu" and not np.all(np.mod(labels, 1) == 0):
            raise NNDSLError(f"{what} must be whole numbers (class labels)")
        for graph in (self.g.full_graph, self.d.full_graph):
            cls = graph.inputs[1].name
            for node in graph.nodes:
                if node.op == "embedding" and node.inputs == [cls]:
                    count = node.attrs["input_dim"]
                    bad = labels[(labels < 0) | (labels >= count)]
                    if bad.size:
                        raise NNDSLError(
                            f"{what}: class {int(bad.flat[0])} is not one of the {count} "
                            f"that '{node.name}' of '{graph.name}' embeds (0..{count - 1})"
                        )

    def take(self, data: Any, index: np.ndarray) -> Any:
        return self.d.take(data, index)

    def noise(self, n: int, rng: np.random.Generator | None = None) -> Any:
        """n draws of the generator's noise, N(0, 1), on the device."""
        z = (rng or self.rng).standard_normal((n, *self.noise_shape))
        return self.g.tensor(z)

    # ------------------------------------------------------------------ one epoch
    def train_epoch(
        self,
        data: Any,
        order: np.ndarray,
        batch_size: int,
        on_batch: Callable[[int], None] | None = None,
    ) -> dict[str, float]:
        records: list[list[Any]] = []
        sizes: list[int] = []
        self.g.set_mode(True)
        self.d.set_mode(True)
        batches: Iterable = self.d.epoch_batches(data, order, batch_size)
        for b, (xs, _, size) in enumerate(batches):
            real, cond = xs[0], xs[1:]
            record, value = self._discriminator_step(real, cond)
            if self.losses_on_host and not math.isfinite(value):
                raise NonFiniteLoss(b, value)
            if self.d_steps == 0 or (b + 1) % self.d_steps == 0:
                g_value = self._generator_step(real.shape[0], cond)
                if self.losses_on_host and not math.isfinite(g_value):
                    raise NonFiniteLoss(b, g_value)
            records.append(record)
            sizes.append(size)
            if on_batch is not None:
                on_batch(b)
        logs = self._means(records, sizes, self.columns)
        for column in ("d_loss", "g_loss"):
            if not math.isfinite(logs[column]):
                raise NonFiniteLoss(len(sizes) - 1, logs[column])
        return logs

    def _discriminator_step(self, real: Any, cond: list[Any]) -> tuple[list[Any], float]:
        """The discriminator's loss on `real` and as many generated samples; its step
        unless d_steps = 0. Returns (the batch's record, its loss as a host float where
        the engine has it, else 0.0)."""
        n = real.shape[0]
        P = self.d.primitives
        fake = self.g.grad_forward([self.noise(n), *cond], keep=False)
        logits = self.d.grad_forward(_joined(P, real, fake, cond))

        def loss(P: Any, v: list[Any]) -> Any:
            return self.d_loss(P, *_halves(P, v[0], n), self.args)

        value, (dlogits,) = self.d.differentiate(loss, [logits])
        g_value = self.g_loss(P, _halves(P, logits, n)[1], self.args)  # its record only
        scores = self._scores(logits, n)  # now: the passes below reuse the logits' buffer
        penalty: Any = 0.0
        host = float(value) if self.losses_on_host else 0.0
        if self.d_steps > 0 and (not self.losses_on_host or math.isfinite(host)):
            self.d.grad_backward(dlogits)
            if self.penalty:
                alpha = self.d.tensor(self.rng.random((n,) + (1,) * (real.ndim - 1)))
                mixed = fake * (1 - alpha) + real * alpha
                penalty = self.d.add_gradient_penalty([mixed, *cond], self.penalty)
            self.d.grad_step()
        if not self.accuracy:
            scores.append(penalty)
        return [value + penalty, g_value, *scores], host

    def _scores(self, logits: Any, n: int) -> list[Any]:
        """The discriminator's accuracy on real and generated samples (a logit > 0 says
        real); for a critic, its estimate of the Wasserstein distance and the penalty."""
        P = self.d.primitives
        real, fake = _halves(P, logits, n)
        if not self.accuracy:
            return [_mean(P, real) - _mean(P, fake)]
        return [_mean(P, P.where(real > 0, 1.0, 0.0)), _mean(P, P.where(fake < 0, 1.0, 0.0))]

    def _generator_step(self, n: int, cond: list[Any]) -> float:
        fake = self.g.grad_forward([self.noise(n), *cond])
        logits = self.d.grad_forward([fake, *cond])
        value, (dlogits,) = self.d.differentiate(
            lambda P, v: self.g_loss(P, v[0], self.args), [logits]
        )
        if self.losses_on_host and not math.isfinite(float(value)):
            return float(value)
        dfake = self.d.grad_backward(dlogits)[0]  # the discriminator's gradients: unused
        self.g.grad_backward(dfake)
        self.g.grad_step()
        return float(value) if self.losses_on_host else 0.0

    def _means(self, records: list[list[Any]], sizes: list[int], columns: list[str]) -> dict:
        width = len(columns)
        flat = self.d.host_floats([v for r in records for v in r])  # one transfer
        rows = [flat[i * width : (i + 1) * width] for i in range(len(sizes))]
        return batch_means(rows, sizes, {}, columns)

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, data: Any, batch_size: int) -> dict[str, float]:
        """Both losses and the scores on `data` in evaluation mode, against generated
        samples of a fixed noise (the same every call: epochs compare)."""
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, 0xE7A1])
        self.g.set_mode(False)
        self.d.set_mode(False)
        P = self.d.primitives
        columns = [c for c in self.columns if c != "gradient_penalty"]
        records, sizes = [], []
        step = max(batch_size, 256)
        for start in range(0, len(data), step):
            xs = [x[start : start + step] for x in data.xs]
            real, cond = xs[0], xs[1:]
            n = real.shape[0]
            fake = self.g.eval_forward([self.noise(n, rng), *cond])
            logits = self.d.eval_forward(_joined(P, real, fake, cond))
            fr, ff = _halves(P, logits, n)
            losses = [self.d_loss(P, fr, ff, self.args), self.g_loss(P, ff, self.args)]
            records.append(losses + self._scores(logits, n))
            sizes.append(n)
        return self._means(records, sizes, columns)

    def sample(self, n: int, seed: int = 0, classes: Any = None) -> np.ndarray:
        """n samples of the generator from noise of `seed` (and, conditional, of
        `classes`: one class for all, or one per sample), as a host array."""
        z = seeded_normal(seed, (n, *self.noise_shape))
        if not self.conditional:
            if classes is not None:
                raise NNDSLError("this GAN is not conditional: it takes no class")
            return self.g.predict(z)
        if classes is None:
            raise NNDSLError(
                "this GAN is conditional: say which class to draw",
                hint="sample(n, classes=7) in Python, --class 7 on the command line",
            )
        labels = np.asarray(classes)
        if labels.dtype.kind not in "iuf" or labels.ndim > 1 or labels.size not in (1, n):
            raise NNDSLError(
                f"classes: one class number for all {n} samples, or one per sample; got {classes!r}"
            )
        labels = np.broadcast_to(labels.reshape(-1), (n,))
        self._check_classes(labels, "the class asked for")
        shape = self.g.full_graph.inputs[1].shape
        return self.g.predict([z, labels.reshape(n, *shape)])

    def predict(self, x: Any, batch_size: int = 256) -> np.ndarray:
        """The generator's samples for the given noise (and classes)."""
        return self.g.predict(x, batch_size)

    def torch_module(self) -> Any:
        """The generator as a plain torch module (noise, class in; samples out)."""
        if not hasattr(self.g, "torch_module"):
            raise NNDSLError(
                f"torch_module() needs the torch backend; this GAN runs on {self.g.name}",
                hint='build it with backend="torch"',
            )
        return self.g.torch_module()

    # ------------------------------------------------------------------ weights and state
    def get_weights(self) -> dict[str, np.ndarray]:
        gname, dname = self.names
        return {
            **{f"{gname}.{k}": v for k, v in self.g.get_weights().items()},
            **{f"{dname}.{k}": v for k, v in self.d.get_weights().items()},
        }

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        parts: dict[str, dict[str, np.ndarray]] = {n: {} for n in self.names}
        for key, value in weights.items():
            owner, _, rest = key.partition(".")
            if owner not in parts:
                raise NNDSLError(
                    f"weight '{key}' belongs to neither model of this GAN",
                    hint="its weights are named " + " and ".join(f"{n}.*" for n in self.names),
                )
            parts[owner][rest] = value
        self.g.set_weights(parts[self.names[0]])
        self.d.set_weights(parts[self.names[1]])

    @property
    def lr(self) -> float:
        return self.g.lr

    @lr.setter
    def lr(self, value: float) -> None:
        """A schedule moves both learning rates by the same factor."""
        g0, d0 = self._base_lrs
        self.g.lr = value
        self.d.lr = d0 * value / g0 if g0 else value

    def state_dict(self) -> dict[str, Any]:
        return {
            **{f"g.{k}": v for k, v in self.g.state_dict().items()},
            **{f"d.{k}": v for k, v in self.d.state_dict().items()},
            "noise_rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.g.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("g.")})
        self.d.load_state_dict({k[2:]: v for k, v in state.items() if k.startswith("d.")})
        if "noise_rng" in state:
            self.rng.bit_generator.state = state["noise_rng"]


def seeded_normal(seed: int, shape: tuple[int, ...]) -> np.ndarray:
    """N(0, 1) draws for sampling with `seed`: a GAN's noise, a VAE's latent codes (one
    stream of its own, apart from training's)."""
    return np.random.default_rng([seed & 0xFFFFFFFF, 0x5A3]).standard_normal(shape)


def _joined(P: Any, real: Any, fake: Any, cond: list[Any]) -> list[Any]:
    """The discriminator's inputs for one pass over both: real samples, then generated
    ones, each with its class (the same classes twice)."""
    return [P.concat([real, fake], 0), *(P.concat([c, c], 0) for c in cond)]


def _halves(P: Any, logits: Any, n: int) -> tuple[Any, Any]:
    """(the real samples' logits, the generated ones') of a pass over `_joined` inputs."""
    return P.slice(logits, 0, 0, n), P.slice(logits, 0, n, 2 * n)


def _mean(P: Any, x: Any) -> Any:
    return P.mean(P.reshape(x, (-1,)), 0)
