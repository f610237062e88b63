import ArgumentParser

/// Every subcommand, in `vseg --help` order. One file per command.
let commandList: [ParsableCommand.Type] = [
    RunCommand.self,
    ProbeCommand.self,
    Inspect.self,
    Infer.self,
    Bench.self,
    Eval.self,
    Calibrate.self,
]
