"""Start llama-cpp-python's OpenAI-compatible server with the model's weights kept in plain CPU buffers.

Run as a script with the same arguments as `python -m llama_cpp.server`. The only difference: the
"extra buffer types" (weight repacking, Intel AMX tiles) are switched off. A wheel built with
`-march=native` on a machine whose CPU advertises AMX while its hypervisor does not let processes use
it dies with SIGSEGV (a general protection fault in `ldtilecfg`) on the first token; plain buffers
work everywhere and cost little for a 135M-parameter model.
"""

from __future__ import annotations

import sys


def _plain_buffers() -> None:
    import llama_cpp
    import llama_cpp.llama as llama_module

    default_params = llama_cpp.llama_model_default_params

    def params():  # noqa: ANN202
        p = default_params()
        p.use_extra_bufts = False
        return p

    llama_module.llama_cpp.llama_model_default_params = params


def main() -> None:
    _plain_buffers()
    import runpy

    sys.argv[0] = "llama_cpp.server"
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
