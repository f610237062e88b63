import ArgumentParser
import VSegCore

/// The root command: `vseg <subcommand>`.
struct VSegCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vseg",
        abstract: "Real-time video segmentation: read video, run stages on dedicated threads, write video.",
        discussion: """
        Reads any video file, network stream (udp://, rtsp://, http://), image sequence or \
        V4L2 camera, pushes the frames through a stage graph and writes MP4/MKV/MOV, MPEG-TS \
        over UDP, Y4M, raw RGB24 or a PNG sequence. `--model none` records and transcodes.

        EXIT CODES
          0    success
          1    internal error (a bug in vseg; please report it)
          2    bad command line or pipeline YAML
          3    input missing, unreadable, corrupt, timed out or broken off mid-stream
          4    model missing, corrupt or unsupported
          5    output cannot be written (directory, extension, encoder, disk)
          130  interrupted by Ctrl-C/SIGTERM (outputs were finalized)

        Errors are one line on stderr: `vseg: <what failed>; <what to do>`.
        """,
        version: "0.1.0",
        subcommands: commandList
    )
}
