#if canImport(Glibc)
import Glibc
#endif
import CFFmpeg
import VSegCore

extension FFmpegSource {
    public func nextFrame() throws -> Frame? {
        var decodeErrorsInARow = 0
        while true {
            if done || vseg_interrupt_is_triggered(irq) != 0 { return try finishStream(throwing: false) }
            guard let inp = input else { return try finishStream(throwing: false) }
            let r = avcodec_receive_frame(inp.dec, frame)
            if r == 0 {
                decodeErrorsInARow = 0
                let out = try deliver(inp)
                av_frame_unref(frame)
                if let f = out { return f }
                continue
            }
            if r == vseg_averror_eof() {
                done = true
                if emitted == 0 && corruptPackets > 0 && pendingError == nil && !info.isLive {
                    throw MediaError.notMedia(uri: uri, reason: "\(corruptPackets) video packets and none decodable")
                }
                if pendingError == nil { audio?.markEnded(complete: true) }
                return try finishStream(throwing: true)
            }
            if r != vseg_averror_eagain() {
                // The decoder gave up on a frame; FFmpeg conceals and carries on, so do we.
                corruptPackets += 1
                decodeErrorsInARow += 1
                if decodeErrorsInARow > 200 {
                    throw MediaError.truncated(uri: uri, framesRead: emitted, reason: "decoder: \(avErrorString(r))")
                }
                continue
            }
            if draining { done = true; return try finishStream(throwing: true) }
            try readPacket(inp)
        }
    }

    private func finishStream(throwing: Bool) throws -> Frame? {
        audio?.markEnded()
        if throwing, let reason = pendingError {
            pendingError = nil
            if reason.hasPrefix("timeout") { throw MediaError.timedOut(uri: uri, seconds: options.readTimeout) }
            throw MediaError.truncated(uri: uri, framesRead: emitted, reason: reason)
        }
        return nil
    }

    private func readPacket(_ inp: Input) throws {
        let network = uriScheme(openURI) != nil
        vseg_interrupt_arm(irq, network ? options.readTimeout : 0)
        let r = av_read_frame(inp.fmt, packet)
        // AVERROR_EXIT without interrupt() means our deadline fired somewhere inside avformat.
        let timedOut = vseg_interrupt_timed_out(irq) != 0 || (r == vseg_averror_exit() && vseg_interrupt_is_triggered(irq) == 0)
        vseg_interrupt_arm(irq, 0)
        if r < 0 {
            if vseg_interrupt_is_triggered(irq) != 0 { done = true; return }
            if info.isLive && network {
                try reconnect(reason: timedOut ? "no data for \(formatSeconds(options.readTimeout)) s" : avErrorString(r))
                return
            }
            if r != vseg_averror_eof() {
                pendingError = timedOut ? "timeout" : avErrorString(r)
            } else if let pb = inp.fmt?.pointee.pb, pb.pointee.error < 0 {
                pendingError = avErrorString(pb.pointee.error)
            } else if !indexFromPts, inp.hasExactSampleCount, videoPackets < Int(inp.stream.pointee.nb_frames) {
                // The MP4/MOV index promised more samples than the file holds: cut short.
                pendingError = "the file ends after \(videoPackets) of \(inp.stream.pointee.nb_frames) video packets"
            }
            // Hand the decoder's buffered frames out before reporting anything.
            avcodec_send_packet(inp.dec, nil)
            draining = true
            return
        }
        defer { av_packet_unref(packet) }
        let idx = packet.pointee.stream_index
        if idx == inp.videoIndex {
            videoPackets += 1
            if (packet.pointee.flags & AV_PKT_FLAG_CORRUPT) != 0 && !info.isLive && pendingError == nil {
                corruptPackets += 1
            }
            let s = avcodec_send_packet(inp.dec, packet)
            if s < 0 && s != vseg_averror_eagain() { corruptPackets += 1 }
        } else if idx == inp.audioIndex, let a = audio {
            a.push(packet)
        }
    }

    /// Converts the decoded `frame` into a pipeline frame, or nil when it is
    /// before `--start` or past `--duration`.
    private func deliver(_ inp: Input) throws -> Frame? {
        let st = inp.stream.pointee
        let tb = Rational(st.time_base)
        var pts = frame.pointee.best_effort_timestamp
        if pts == vseg_av_nopts_value() { pts = frame.pointee.pts }
        if pts == vseg_av_nopts_value() {
            pts = (lastInPts ?? -1) + max(1, frame.pointee.pkt_duration)
        }
        lastInPts = pts
        // Live streams may come back with another time base after a reconnect.
        if tb != info.timeBase, tb.isValid, info.timeBase.isValid {
            pts = av_rescale_q(pts, tb.av, info.timeBase.av)
        }
        let seconds = Double(pts) * info.timeBase.doubleValue
        let streamStart = st.start_time != vseg_av_nopts_value() ? Double(st.start_time) * tb.doubleValue : 0
        if !info.isLive, let start = options.start {
            let halfFrame = info.frameRate.isValid ? 0.5 / info.frameRate.doubleValue : 0.001
            if seconds < streamStart + start - halfFrame { return nil }
        }
        if firstSeconds == nil { firstSeconds = seconds }
        if let d = options.duration, let first = firstSeconds, seconds - first >= d - 1e-6 {
            done = true
            return nil
        }
        let outPts = info.isLive ? liveTimestamp(pts) : pts
        let index: Int
        if indexFromPts, info.frameRate.isValid {
            index = max(0, Int(((seconds - streamStart) * info.frameRate.doubleValue).rounded()))
        } else {
            index = nextIndex
        }
        nextIndex = index + 1

        let buf = pool.get()
        try scaler.convert(ImageRef(frame), into: ImageRef(buf))
        emitted += 1
        if let n = options.maxFrames, emitted >= n { done = true }
        let dur = frame.pointee.pkt_duration
        return Frame(buffer: buf, timestamp: Timestamp(value: outPts, timeBase: info.timeBase),
                     duration: dur > 0 ? dur : nil, index: index)
    }

    /// Live pts start at 0 and keep increasing across sender restarts and
    /// reconnects (sinks need monotonic timestamps).
    private func liveTimestamp(_ pts: Int64) -> Int64 {
        let tb = info.timeBase.doubleValue
        let bigJump = tb > 0 ? Int64(5.0 / tb) : Int64.max
        if rebaseNext {
            tsOffset = (lastOutPts.map { $0 + lastStep } ?? 0) - pts
            rebaseNext = false
        }
        var out = pts &+ tsOffset
        if let last = lastOutPts {
            if out <= last || out - last > bigJump {
                tsOffset = (last + lastStep) - pts
                out = last + lastStep
            } else {
                lastStep = out - last
            }
        }
        lastOutPts = out
        return out
    }

    private func reconnect(reason firstReason: String) throws {
        input?.closeNow()  // the caller may still hold it; the port must be free for the reopen
        input = nil
        var reason = firstReason
        var delay = 0.25
        var attempt = 0
        while attempt < options.reconnectAttempts {
            attempt += 1
            reconnects += 1
            MediaLog.info("\(uri): stream stopped (\(reason)); reconnect \(attempt)/\(options.reconnectAttempts) in \(formatSeconds(delay)) s")
            if !sleepUnlessInterrupted(delay) { done = true; return }
            do {
                let inp = try openInput(live: true)
                input = inp
                rebaseNext = true
                MediaLog.info("\(uri): reconnected after \(attempt) attempt\(attempt == 1 ? "" : "s")")
                return
            } catch let e as MediaError {
                if vseg_interrupt_is_triggered(irq) != 0 { done = true; return }
                if case .timedOut = e { reason = "no data for \(formatSeconds(options.openTimeout)) s" } else { reason = e.description }
            }
            delay = min(delay * 2, options.reconnectMaxDelay)
        }
        throw MediaError.streamLost(uri: uri, attempts: attempt)
    }

    /// Sleeps in small steps so `interrupt()` stays prompt; false when interrupted.
    private func sleepUnlessInterrupted(_ seconds: Double) -> Bool {
        let end = Clock.nanos() + UInt64(max(0, seconds) * 1e9)
        while Clock.nanos() < end {
            if vseg_interrupt_is_triggered(irq) != 0 { return false }
            usleep(10_000)
        }
        return vseg_interrupt_is_triggered(irq) == 0
    }
}
