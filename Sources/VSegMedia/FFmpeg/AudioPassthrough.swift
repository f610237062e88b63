import CFFmpeg
import VSegCore

/// Compressed audio packets handed from a file source to an encoding sink,
/// which copies them into its container untouched (dashcam audio survives a
/// transcode). The source fills it from its reading thread, the sink drains it
/// from its own; it is bounded so a sink that falls behind cannot grow memory
/// without limit (the oldest packets go first, and are counted).
public final class AudioPassthrough: @unchecked Sendable {
    /// Codec parameters of the source audio stream (owned).
    let parameters: UnsafeMutablePointer<AVCodecParameters>
    /// Time base of the packets' pts/dts.
    public let timeBase: Rational
    /// Codec name for messages ("aac").
    public let codecName: String
    private var queue: [UnsafeMutablePointer<AVPacket>] = []
    private var head = 0
    private let lock = Lock()
    private let capacity: Int
    public private(set) var dropped = 0
    /// Set by the source when it will push no more packets.
    private var ended = false
    /// Set when the source read its input to the natural end (not cut by --frames/--duration/interrupt).
    private var complete = false

    init?(stream: UnsafeMutablePointer<AVStream>, capacity: Int = 4096) {
        guard let p = avcodec_parameters_alloc() else { return nil }
        avcodec_parameters_copy(p, stream.pointee.codecpar)
        parameters = p
        timeBase = Rational(stream.pointee.time_base)
        codecName = String(cString: avcodec_get_name(p.pointee.codec_id))
        self.capacity = capacity
        queue.reserveCapacity(256)
    }

    deinit {
        for i in head..<queue.count { var p: UnsafeMutablePointer<AVPacket>? = queue[i]; av_packet_free(&p) }
        var p: UnsafeMutablePointer<AVCodecParameters>? = parameters
        avcodec_parameters_free(&p)
    }

    /// Takes a reference to `packet` (the caller keeps its own).
    func push(_ packet: UnsafeMutablePointer<AVPacket>) {
        guard let clone = av_packet_clone(packet) else { return }
        lock.withLock {
            if queue.count - head >= capacity {
                var old: UnsafeMutablePointer<AVPacket>? = queue[head]
                av_packet_free(&old)
                head += 1
                dropped += 1
            }
            queue.append(clone)
            if head > 1024 { queue.removeFirst(head); head = 0 }
        }
    }

    func markEnded(complete: Bool = false) { lock.withLock { ended = true; self.complete = self.complete || complete } }

    /// True once the source has read the whole input: the sink then keeps the
    /// audio that runs past the last video frame, as a plain remux would.
    var readToEnd: Bool { lock.withLock { ended && complete } }

    /// Removes and returns the oldest packet if its pts (in seconds) is before
    /// `limit`; the caller frees it. Packets without pts go out in order.
    func pop(before limit: Double) -> UnsafeMutablePointer<AVPacket>? {
        let tb = timeBase.doubleValue
        return lock.withLock {
            guard head < queue.count else { return nil }
            let p = queue[head]
            let pts = p.pointee.pts
            if pts != vseg_av_nopts_value() && Double(pts) * tb >= limit { return nil }
            head += 1
            return p
        }
    }
}

/// A source that can hand its audio to a sink.
public protocol AudioPassthroughProvider: AnyObject {
    /// Starts keeping audio packets for a sink and returns the channel, or nil
    /// when the source has no audio (or is live). Call before the first frame.
    func enableAudioPassthrough() -> AudioPassthrough?
}
