#if canImport(Glibc)
import Glibc
#endif
import CV4L2
import VSegCore

/// The driver side of each ioctl the simulated camera answers.
extension SimulatedV4L2Device {
    func handle(_ request: V4L2Request, _ arg: UnsafeMutableRawPointer) throws {
        switch request {
        case .querycap: querycap(arg.assumingMemoryBound(to: v4l2_capability.self))
        case .enumFmt: try enumFormat(&arg.assumingMemoryBound(to: v4l2_fmtdesc.self).pointee)
        case .enumFramesizes: try enumSizes(&arg.assumingMemoryBound(to: v4l2_frmsizeenum.self).pointee)
        case .enumFrameintervals: try enumIntervals(&arg.assumingMemoryBound(to: v4l2_frmivalenum.self).pointee)
        case .sFmt: try setFormat(&arg.assumingMemoryBound(to: v4l2_format.self).pointee)
        case .gFmt: writeFormat(&arg.assumingMemoryBound(to: v4l2_format.self).pointee)
        case .sParm: try setParm(&arg.assumingMemoryBound(to: v4l2_streamparm.self).pointee)
        case .gParm: writeParm(&arg.assumingMemoryBound(to: v4l2_streamparm.self).pointee)
        case .reqbufs: try requestBuffers(&arg.assumingMemoryBound(to: v4l2_requestbuffers.self).pointee)
        case .querybuf: try queryBuffer(&arg.assumingMemoryBound(to: v4l2_buffer.self).pointee)
        case .qbuf: try queueBuffer(arg.assumingMemoryBound(to: v4l2_buffer.self).pointee)
        case .dqbuf: try dequeueBuffer(&arg.assumingMemoryBound(to: v4l2_buffer.self).pointee)
        case .streamon:
            guard !buffers.isEmpty else { throw V4L2Errno(EINVAL) }
            setStreaming(true)
        case .streamoff: setStreaming(false)
        default: throw V4L2Errno(ENOTTY)
        }
    }

    private func querycap(_ cap: UnsafeMutablePointer<v4l2_capability>) {
        cap.pointee = v4l2_capability()
        copy(driver, into: &cap.pointee.driver)
        copy(card, into: &cap.pointee.card)
        copy(busInfo, into: &cap.pointee.bus_info)
        cap.pointee.version = (6 << 16) | (1 << 8)
        cap.pointee.capabilities = capabilities | UInt32(V4L2_CAP_DEVICE_CAPS)
        cap.pointee.device_caps = capabilities
    }

    private func copy<T>(_ text: String, into field: inout T) {
        withUnsafeMutableBytes(of: &field) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, byte) in text.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
    }

    private func enumFormat(_ d: inout v4l2_fmtdesc) throws {
        guard d.type == V4L2Const.bufTypeVideoCapture, Int(d.index) < formats.count else { throw V4L2Errno(EINVAL) }
        let f = formats[Int(d.index)]
        d.pixelformat = f.fourcc.rawValue
        d.flags = (f.isCompressed ? V4L2Const.fmtFlagCompressed : 0) | (f.isEmulated ? V4L2Const.fmtFlagEmulated : 0)
        copy(f.description, into: &d.description)
    }

    private func info(_ fourcc: UInt32) throws -> V4L2FormatInfo {
        guard let f = formats.first(where: { $0.fourcc.rawValue == fourcc }) else { throw V4L2Errno(EINVAL) }
        return f
    }

    private func enumSizes(_ e: inout v4l2_frmsizeenum) throws {
        switch try info(e.pixel_format).sizes {
        case let .discrete(list):
            guard Int(e.index) < list.count else { throw V4L2Errno(EINVAL) }
            e.type = V4L2Const.frmsizeDiscrete
            e.discrete.width = UInt32(list[Int(e.index)].width)
            e.discrete.height = UInt32(list[Int(e.index)].height)
        case let .stepwise(lo, hi, sw, sh):
            guard e.index == 0 else { throw V4L2Errno(EINVAL) }
            e.type = V4L2Const.frmsizeStepwise
            e.stepwise.min_width = UInt32(lo.width); e.stepwise.max_width = UInt32(hi.width); e.stepwise.step_width = UInt32(sw)
            e.stepwise.min_height = UInt32(lo.height); e.stepwise.max_height = UInt32(hi.height); e.stepwise.step_height = UInt32(sh)
        case .unknown:
            throw V4L2Errno(ENOTTY)
        }
    }

    func intervals(_ f: V4L2FormatInfo, _ s: V4L2Size) -> V4L2FrameIntervals {
        f.intervals[s] ?? defaultIntervals
    }

    private func enumIntervals(_ e: inout v4l2_frmivalenum) throws {
        let f = try info(e.pixel_format)
        switch intervals(f, V4L2Size(width: Int(e.width), height: Int(e.height))) {
        case let .discrete(list):
            guard Int(e.index) < list.count else { throw V4L2Errno(EINVAL) }
            e.type = V4L2Const.frmivalDiscrete
            e.discrete.numerator = list[Int(e.index)].numerator
            e.discrete.denominator = list[Int(e.index)].denominator
        case let .stepwise(lo, hi, step):
            guard e.index == 0 else { throw V4L2Errno(EINVAL) }
            e.type = V4L2Const.frmivalStepwise
            e.stepwise.min = v4l2_fract(numerator: lo.numerator, denominator: lo.denominator)
            e.stepwise.max = v4l2_fract(numerator: hi.numerator, denominator: hi.denominator)
            e.stepwise.step = v4l2_fract(numerator: step.numerator, denominator: step.denominator)
        case .unknown:
            throw V4L2Errno(ENOTTY)
        }
    }

    /// Like a driver: an unknown format becomes the first one it can send, and the
    /// size snaps to the nearest it supports.
    private func setFormat(_ f: inout v4l2_format) throws {
        guard f.type == V4L2Const.bufTypeVideoCapture else { throw V4L2Errno(EINVAL) }
        if isStreaming || !buffers.isEmpty { throw V4L2Errno(EBUSY) }
        let producible = formats.filter { $0.fourcc == .yuyv || $0.fourcc == .rgb24 }
        guard let fallback = producible.first else { throw V4L2Errno(EINVAL) }
        let chosen = producible.first { $0.fourcc.rawValue == f.fmt.pix.pixelformat } ?? fallback
        format = chosen.fourcc
        var s = V4L2Negotiator.nearestSize(chosen.sizes, to: V4L2Size(width: Int(f.fmt.pix.width), height: Int(f.fmt.pix.height)))
        if format == .yuyv { s.width &= ~1 }
        size = s
        if let i = V4L2Negotiator.nearestInterval(intervals(chosen, size), fps: interval.fps) { interval = i }
        writeFormat(&f)
    }

    private func writeFormat(_ f: inout v4l2_format) {
        f.fmt.pix.width = UInt32(size.width)
        f.fmt.pix.height = UInt32(size.height)
        f.fmt.pix.pixelformat = format.rawValue
        f.fmt.pix.field = UInt32(V4L2_FIELD_NONE.rawValue)
        f.fmt.pix.bytesperline = UInt32(bytesPerLine)
        f.fmt.pix.sizeimage = UInt32(bytesPerLine * size.height)
    }

    private func setParm(_ p: inout v4l2_streamparm) throws {
        guard p.type == V4L2Const.bufTypeVideoCapture else { throw V4L2Errno(EINVAL) }
        let t = p.parm.capture.timeperframe
        if t.numerator > 0, t.denominator > 0, let f = formats.first(where: { $0.fourcc == format }),
           let i = V4L2Negotiator.nearestInterval(intervals(f, size), fps: Double(t.denominator) / Double(t.numerator)) {
            interval = i
        }
        writeParm(&p)
    }

    private func writeParm(_ p: inout v4l2_streamparm) {
        p.parm.capture.capability = V4L2Const.capTimePerFrame
        p.parm.capture.timeperframe = v4l2_fract(numerator: interval.numerator, denominator: interval.denominator)
    }

    private func requestBuffers(_ r: inout v4l2_requestbuffers) throws {
        guard r.type == V4L2Const.bufTypeVideoCapture, r.memory == V4L2Const.memoryMmap else { throw V4L2Errno(EINVAL) }
        if isStreaming || mappedAny { throw V4L2Errno(EBUSY) }
        freeBuffers()
        guard r.count > 0 else { return }
        recordRequested(Int(r.count))
        let count = min(max(Int(r.count), 2), maxBuffers)
        allocateBuffers(count: count)
        r.count = UInt32(count)
    }

    private func checkedIndex(_ b: v4l2_buffer) throws -> Int {
        guard b.type == V4L2Const.bufTypeVideoCapture, b.memory == V4L2Const.memoryMmap,
              Int(b.index) < buffers.count else { throw V4L2Errno(EINVAL) }
        return Int(b.index)
    }

    private func queryBuffer(_ b: inout v4l2_buffer) throws {
        let i = try checkedIndex(b)
        b.length = UInt32(buffers[i].length)
        b.m.offset = UInt32(i * Self.offsetStride)
    }

    private func queueBuffer(_ b: v4l2_buffer) throws {
        let i = try checkedIndex(b)
        guard !queue.contains(i) else { throw V4L2Errno(EINVAL) }
        queue.append(i)
        queuedAt[i] = Clock.nanos()
    }

    private func dequeueBuffer(_ b: inout v4l2_buffer) throws {
        guard isStreaming else { throw V4L2Errno(EINVAL) }
        var damaged = false
        while let step = script.first {
            switch step {
            case .frames(let n) where n <= 0: script.removeFirst(); continue
            case .frames(let n): script[0] = .frames(n - 1)
            case .damaged(let n) where n <= 0: script.removeFirst(); continue
            case .damaged(let n): script[0] = .damaged(n - 1); damaged = true
            case .dqbufError(let code): script.removeFirst(); throw V4L2Errno(code)
            case .dropped(let n): script.removeFirst(); sequence &+= UInt32(n); continue
            case .pollTimeout, .stall: throw V4L2Errno(EAGAIN)
            case .unplug: script.removeFirst(); unplug(); throw V4L2Errno(ENODEV)
            }
            break
        }
        guard !queue.isEmpty else { throw V4L2Errno(EAGAIN) }
        sequence = realtimeSequence()
        let i = queue.removeFirst()
        SimulatedV4L2Pattern.fill(buffers[i].memory, format: format, width: size.width, height: size.height,
                                  rowBytes: bytesPerLine, frame: Int(sequence))
        let micros = streamStartMicros + Int64(sequence) * Int64(interval.numerator) * 1_000_000 / Int64(interval.denominator)
        b.index = UInt32(i)
        b.bytesused = UInt32(bytesPerLine * size.height)
        b.length = UInt32(buffers[i].length)
        b.flags = V4L2Const.bufFlagTimestampMonotonic | (damaged ? V4L2Const.bufFlagError : 0)
        b.field = UInt32(V4L2_FIELD_NONE.rawValue)
        b.sequence = sequence
        b.timestamp = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
        sequence &+= 1
    }
}
