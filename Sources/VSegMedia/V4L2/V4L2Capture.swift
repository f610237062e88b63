#if canImport(Glibc)
import Glibc
#endif
import CV4L2

/// One mmap'ed driver buffer.
struct V4L2MappedBuffer {
    let address: UnsafeMutableRawPointer
    let length: Int
}

/// The device side of a capture session: capability check, format/rate
/// negotiation, mmap buffers and the stream. `V4L2Source` turns what it
/// dequeues into frames.
final class V4L2Capture {
    let handle: V4L2Handle
    var path: String { handle.path }
    let capabilities: V4L2Capabilities
    let formats: [V4L2FormatInfo]
    let negotiation: V4L2Negotiation
    /// What the driver actually set (it may round the size or pick another format).
    let size: V4L2Size
    let pixelFormat: FourCC
    let bytesPerLine: Int
    let interval: V4L2Fraction?
    /// Everything that differs from what was asked, negotiation and driver adjustments.
    let notes: [String]
    private(set) var buffers: [V4L2MappedBuffer] = []
    private(set) var streaming = false

    /// Runs the whole setup up to STREAMON. On failure everything acquired so far is
    /// released (the handle closes when the caller drops it).
    init(handle: V4L2Handle, options: V4L2Options) throws {
        self.handle = handle
        let path = handle.path
        capabilities = try V4L2Capabilities.query(handle)
        try capabilities.requireStreamingCapture(path: path)
        formats = try V4L2Enumerator.formats(handle)
        negotiation = try V4L2Negotiator.negotiate(formats: formats, options: options, path: path) { fourcc, size in
            try V4L2Enumerator.frameIntervals(handle, fourcc, size)
        }
        var notes = negotiation.notes

        // S_FMT: the driver answers with what it really set.
        var format = v4l2_format()
        format.type = V4L2Const.bufTypeVideoCapture
        format.fmt.pix.width = UInt32(negotiation.size.width)
        format.fmt.pix.height = UInt32(negotiation.size.height)
        format.fmt.pix.pixelformat = negotiation.captureFormat.rawValue
        format.fmt.pix.field = V4L2Const.fieldAny
        try handle.ioctl(.sFmt, &format)
        let pix = format.fmt.pix
        size = V4L2Size(width: Int(pix.width), height: Int(pix.height))
        pixelFormat = FourCC(rawValue: pix.pixelformat)
        guard pixelFormat == .yuyv || pixelFormat == .rgb24, size.width > 0, size.height > 0,
              pixelFormat != .yuyv || size.width % 2 == 0 else {
            throw V4L2Error.noUsableFormat(path: path, offered: "driver set \(pixelFormat) \(size) when asked for \(negotiation.captureFormat)")
        }
        if size != negotiation.size { notes.append("driver set \(size) instead of \(negotiation.size)") }
        if pixelFormat != negotiation.captureFormat { notes.append("driver set \(pixelFormat) instead of \(negotiation.captureFormat)") }
        let minLine = size.width * (pixelFormat == .yuyv ? 2 : 3)
        bytesPerLine = max(Int(pix.bytesperline), minLine)

        interval = try Self.setFrameRate(handle, negotiation.interval, notes: &notes)
        buffers = try Self.mapBuffers(handle, count: options.bufferCount, notes: &notes)
        self.notes = notes
        do {
            var type = Int32(V4L2Const.bufTypeVideoCapture)
            try handle.ioctl(.streamon, &type)
            streaming = true
        } catch {
            stop()
            throw error
        }
    }

    /// S_PARM with the negotiated interval; returns what the driver kept.
    private static func setFrameRate(_ handle: V4L2Handle, _ wanted: V4L2Fraction?, notes: inout [String]) throws -> V4L2Fraction? {
        var parm = v4l2_streamparm()
        parm.type = V4L2Const.bufTypeVideoCapture
        if let wanted {
            parm.parm.capture.timeperframe.numerator = wanted.numerator
            parm.parm.capture.timeperframe.denominator = wanted.denominator
            do {
                try handle.ioctl(.sParm, &parm)
            } catch let e as V4L2Error where e.errno == EINVAL || e.errno == ENOTTY {
                notes.append("driver does not take frame-rate requests; it runs at its own rate")
                return nil
            }
        } else if !(try handle.enumerate(.gParm, &parm)) {
            return nil
        }
        let t = parm.parm.capture.timeperframe
        guard t.numerator > 0, t.denominator > 0 else { return nil }
        let got = V4L2Fraction(t.numerator, t.denominator)
        if let wanted, abs(got.fps - wanted.fps) > 0.01 {
            notes.append("driver runs at \(formatFPS(got.fps)) fps instead of \(formatFPS(wanted.fps))")
        }
        return got
    }

    /// REQBUFS + QUERYBUF + mmap + QBUF for every buffer. Unmaps what it mapped if anything fails.
    private static func mapBuffers(_ handle: V4L2Handle, count: Int, notes: inout [String]) throws -> [V4L2MappedBuffer] {
        var req = v4l2_requestbuffers()
        req.count = UInt32(count)
        req.type = V4L2Const.bufTypeVideoCapture
        req.memory = V4L2Const.memoryMmap
        try handle.ioctl(.reqbufs, &req)
        let granted = Int(req.count)
        guard granted >= 2 else { throw V4L2Error.tooFewBuffers(path: handle.path, granted: granted) }
        if granted != count { notes.append("driver granted \(granted) buffers instead of \(count)") }
        var mapped: [V4L2MappedBuffer] = []
        do {
            for i in 0..<granted {
                var b = v4l2_buffer()
                b.index = UInt32(i)
                b.type = V4L2Const.bufTypeVideoCapture
                b.memory = V4L2Const.memoryMmap
                try handle.ioctl(.querybuf, &b)
                let address = try handle.mmap(length: Int(b.length), offset: Int(b.m.offset))
                mapped.append(V4L2MappedBuffer(address: address, length: Int(b.length)))
                try handle.ioctl(.qbuf, &b)
            }
        } catch {
            for m in mapped { try? handle.munmap(m.address, length: m.length) }
            throw error
        }
        return mapped
    }

    /// DQBUF. Throws the raw `V4L2Error` (EAGAIN, EIO, disconnected...) for the source to judge.
    func dequeue() throws -> v4l2_buffer {
        var b = v4l2_buffer()
        b.type = V4L2Const.bufTypeVideoCapture
        b.memory = V4L2Const.memoryMmap
        try handle.ioctl(.dqbuf, &b)
        return b
    }

    /// QBUF: hands a buffer back to the driver.
    func requeue(_ b: v4l2_buffer) throws {
        var copy = b
        try handle.ioctl(.qbuf, &copy)
    }

    /// STREAMOFF, munmap every buffer, free them and close the node. Idempotent; errors
    /// are ignored because the camera may already be gone (unplug).
    func stop() {
        if streaming {
            var type = Int32(V4L2Const.bufTypeVideoCapture)
            try? handle.ioctl(.streamoff, &type)
            streaming = false
        }
        for m in buffers { try? handle.munmap(m.address, length: m.length) }
        if !buffers.isEmpty {
            buffers = []
            var req = v4l2_requestbuffers()
            req.type = V4L2Const.bufTypeVideoCapture
            req.memory = V4L2Const.memoryMmap
            try? handle.ioctl(.reqbufs, &req)
        }
        handle.close()
    }
}
