import Foundation

/// A `RunReport` as one self-contained HTML page: no external asset, no JavaScript; charts are inline SVG drawn with
/// `currentColor`, so they read printed and in dark mode.
public enum RunReportHTML {
    public static func render(_ report: RunReport) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Ferry run report — \(escape(report.target))</title>
            <style>
            :root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #57606a; --line: #d0d7de;
              --a: #0969da; --b: #bf8700; --ok: #1a7f37; --bad: #cf222e; }
            @media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0;
              --line: #30363d; --a: #4493f8; --b: #d29922; --ok: #3fb950; --bad: #f85149; } }
            body { font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 2rem auto;
              max-width: 62rem; padding: 0 1rem; }
            h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
            .muted { color: var(--muted); } .figures { display: flex; gap: 1rem; flex-wrap: wrap; }
            .figure { border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; min-width: 11rem; }
            .figure b { display: block; font-size: 1.4rem; }
            table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
            th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: right; }
            th:first-child, td:first-child, td.text, th.text { text-align: left; }
            svg { width: 100%; height: auto; } .a { stroke: var(--a); } .b { stroke: var(--b); }
            .grid { stroke: var(--line); } text { fill: var(--muted); font-size: 11px; }
            .status { font-weight: 600; padding: .1rem .5rem; border-radius: 4px; border: 1px solid currentColor; }
            .pass { color: var(--ok); } .fail { color: var(--bad); }
            @media print { body { margin: 0; } }
            </style></head><body>
            <h1>Ferry run report</h1>
            <p class="muted">plan \(escape(report.planId)) · \(escape(report.source)) → \(escape(report.target)) ·
            made \(time(report.generatedAt))</p>
            <div class="figures">
            <div class="figure" id="rto">RTO<b>\(report.rto.wallSeconds.map(duration) ?? "not caught up")</b>
            <span class="muted">\(report.rto.runningSeconds.map { duration($0) + " running, " } ?? "")\(duration(report.rto.stoppedSeconds)) stopped</span></div>
            <div class="figure" id="rpo">RPO<b>\(report.rpo.lagSeconds.map(duration) ?? "nothing applied")</b>
            <span class="muted">target at \(escape(report.rpo.appliedThrough ?? "—")), as of \(time(report.asOf))</span></div>
            <div class="figure">Windows<b>\(report.totals.windowsApplied) / \(report.totals.windows)</b>
            <span class="muted">\(report.totals.itemsApplied) items applied of \(report.totals.records) records</span></div>
            <div class="figure">Rejects<b>\(report.totals.rejects)</b>
            <span class="muted">\(report.totals.throttles) throttles, \(report.totals.retries) retries</span></div>
            </div>
            <p class="muted">RTO runs from the first write to the target caught up\(report.rto.verifiedAt == nil ? "" : " and verified"); \
            time stopped between runs is shown apart. RPO is how far behind the source the target is, as of the report.</p>
            \(fullExportNote(report.rto))
            """
        html += verificationSection(report.verification)
        html += settingsSection(report.settings)
        html += phasesTable(report.rto)
        html += "<h2>Throughput</h2>\n"
        html += chart(
            id: "items-chart",
            title: "items per second",
            series: [("a", "items/s", report.throughput.map { ($0.at, $0.itemsPerSecond) })]
        )
        html += chart(
            id: "capacity-chart",
            title: "write capacity units per second: consumed and budget",
            series: [
                ("a", "WCU/s consumed", report.throughput.map { ($0.at, $0.writeUnitsPerSecond) }),
                ("b", "budget", report.throughput.map { ($0.at, $0.writeBudget) }),
            ]
        )
        html += chart(
            id: "throttles-chart",
            title: "throttles per second (whole calls DynamoDB refused for capacity; by reason below)",
            series: [("b", "throttles/s", report.throughput.map { ($0.at, $0.throttlesPerSecond) })]
        )
        html += "<h2>Lag behind the source</h2>\n"
        html += chart(
            id: "lag-chart",
            title: "behind the source over the run: that moment (or the report's --as-of, when earlier) minus the end "
                + "of the last window applied",
            series: [("a", "lag", report.lag.map { ($0.at, $0.lagSeconds) })],
            empty: "no window applied yet",
            label: duration
        )
        html += throttleSection(report.throttleReasons, total: report.totals.throttles)
        html += """
            <h2>Windows</h2>
            <table id="windows"><thead><tr><th>#</th><th class="text">export</th><th class="text">kind</th>
            <th class="text">to</th><th>records</th><th>puts</th><th>deletes</th><th>files</th><th>bytes</th><th>time</th>
            <th>WCU</th><th class="text">state</th>
            </tr></thead><tbody>

            """
        for window in report.windows {
            html += """
                <tr class="window"><td>\(window.number)</td><td class="text">\(escape(window.exportId))</td>\
                <td class="text">\(window.kind)</td><td class="text">\(escape(window.to))</td><td>\(window.records)</td>\
                <td>\(window.puts.map(String.init) ?? "—")</td><td>\(window.deletes.map(String.init) ?? "—")</td>\
                <td>\(window.files)</td><td>\(window.compressedBytes)</td>\
                <td>\(window.seconds.map(duration) ?? "—")</td>\
                <td>\(window.writeUnits.map { String(Int($0.rounded())) } ?? "—")</td>\
                <td class="text">\(window.applied ? "applied" : (window.startedAt == nil ? "to do" : "in progress"))</td></tr>

                """
        }
        html += "</tbody></table>\n"
        html += filesSection(report.files)
        html += exportsSection(report.exports)
        html +=
            "<h2>Runs</h2>\n<table id=\"runs\"><thead><tr><th class=\"text\">run</th><th class=\"text\">command</th>"
        html += "<th class=\"text\">started</th><th class=\"text\">last seen</th><th class=\"text\">outcome</th></tr>"
        html += "</thead><tbody>\n"
        for run in report.runs {
            html +=
                "<tr><td class=\"text\">\(escape(run.id))</td><td class=\"text\">\(escape(run.command ?? "apply"))</td>"
            html += "<td class=\"text\">\(time(run.startedAt))</td>"
            html += "<td class=\"text\">\(time(run.lastSeenAt))</td>"
            html += "<td class=\"text\">\(escape(run.outcome + (run.error.map { ": " + $0 } ?? "")))</td></tr>\n"
        }
        html += "</tbody></table>\n</body></html>\n"
        return html
    }

    /// The proof: the last diff's verdict with its counts, and the rejects.
    static func verificationSection(_ verification: RunReport.Verification) -> String {
        var html = "<h2>Verification</h2>\n<p id=\"verification\"><span class=\"status "
        html += verification.passed ? "pass" : "fail"
        html += "\" id=\"verification-status\">\(escape(verification.status.rawValue))</span> "
        html += escape(verification.summary) + "</p>\n"
        if let diff = verification.diff {
            let counts = diff.counts
            html += "<table id=\"diff-counts\"><thead><tr><th class=\"text\">diff at</th><th>equal</th>"
            html += "<th>missing</th><th>different</th><th>not deleted</th><th>extra</th><th>scanned</th><th>time</th>"
            html +=
                "</tr></thead><tbody><tr><td class=\"text\">\(escape(diff.position)) · \(escape(diff.expectedThrough))"
            html += verification.at.map { " · " + time($0) } ?? ""
            html += "</td><td>\(counts.unchanged)</td><td>\(counts.wouldPut)</td><td>\(counts.wouldOverwrite)</td>"
            html += "<td>\(counts.wouldDelete)</td><td>\(counts.extra)</td><td>\(diff.itemsScanned)</td>"
            html += "<td>\(duration(diff.seconds))</td></tr></tbody></table>\n"
        }
        if verification.rejects > 0 {
            html += "<p id=\"rejects\" class=\"fail\">\(verification.rejects) records rejected by DynamoDB"
            html +=
                (verification.rejectsFile.map { ", with the reason, in <code>\(escape($0))</code>" } ?? "") + ".</p>\n"
        }
        return html
    }

    /// Settings drift: every setting compared, the differing ones marked, both sides as they are.
    static func settingsSection(_ drift: SettingsDrift?) -> String {
        var html = "<h2>Settings: source and target</h2>\n"
        guard let drift else {
            return html
                + "<p id=\"settings\" class=\"muted\">not compared (ferry report --compare-settings describes both "
                + "tables)</p>\n"
        }
        if let error = drift.error {
            return html + "<p id=\"settings\" class=\"fail\">not compared: \(escape(error))</p>\n"
        }
        let count = drift.differences.count
        html += "<p id=\"settings\" class=\"\(count == 0 ? "pass" : "fail")\">"
        html +=
            count == 0 ? "the target's settings match the source's" : "\(count) setting\(count == 1 ? "" : "s") differ"
        html += " · \(escape(drift.source)) → \(escape(drift.target)) · \(time(drift.at))</p>\n"
        html += "<table id=\"settings-table\"><thead><tr><th class=\"text\">setting</th><th class=\"text\">source</th>"
        html += "<th class=\"text\">target</th></tr></thead><tbody>\n"
        let differing = Dictionary(drift.differences.map { ($0.setting, $0) }, uniquingKeysWith: { a, _ in a })
        for name in drift.compared {
            if let difference = differing[name] {
                html += "<tr class=\"drift\"><td class=\"text\">\(escape(name))</td>"
                html += "<td class=\"text\">\(escape(difference.source ?? "(none)"))</td>"
                html += "<td class=\"text fail\">\(escape(difference.target ?? "(none)"))</td></tr>\n"
            } else {
                html += "<tr class=\"same\"><td class=\"text\">\(escape(name))</td>"
                html += "<td class=\"text muted\" colspan=\"2\">same</td></tr>\n"
            }
        }
        return html + "</tbody></table>\n"
    }

    /// The throttles by the reason DynamoDB gave: which table or index, which limit.
    static func throttleSection(_ reasons: [RunReport.ThrottleReason], total: Int) -> String {
        var html = "<h2>Throttles by reason</h2>\n"
        guard !reasons.isEmpty else {
            let text = total == 0 ? "no throttles" : "\(total) throttles, recorded without their reasons"
            return html + "<p id=\"throttle-reasons\" class=\"muted\">\(text)</p>\n"
        }
        html += "<table id=\"throttle-reasons\"><thead><tr><th class=\"text\">reason</th><th>throttles</th>"
        html += "</tr></thead><tbody>\n"
        for reason in reasons {
            html +=
                "<tr class=\"throttle\"><td class=\"text\">\(escape(reason.reason))</td><td>\(reason.count)</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    /// The slowest data files (all of them are in the JSON): where a window's time went.
    static func filesSection(_ files: [RunReport.FileTiming], shown: Int = 10) -> String {
        var html = "<h2>Slowest data files</h2>\n"
        guard !files.isEmpty else { return html + "<p id=\"files\" class=\"muted\">no file timings recorded</p>\n" }
        html +=
            "<p class=\"muted\">\(min(shown, files.count)) of \(files.count) files, slowest first; time runs from the "
        html +=
            "file being opened to its last write acknowledged, verifying it (download, MD5, gzip, count) first.</p>\n"
        html += "<table id=\"files\"><thead><tr><th>window</th><th class=\"text\">file</th><th>time</th><th>verify</th>"
        html += "<th>puts</th><th>deletes</th><th>rejects</th><th>WCU</th></tr></thead><tbody>\n"
        for file in files.sorted(by: { $0.seconds > $1.seconds }).prefix(shown) {
            let name = file.file.split(separator: "/").last.map(String.init) ?? file.file
            html += "<tr class=\"file\"><td>\(file.window)</td><td class=\"text\">\(escape(name))</td>"
            html += "<td>\(duration(file.seconds))</td><td>\(file.verifySeconds.map(duration) ?? "—")</td>"
            html += "<td>\(file.puts)</td><td>\(file.deletes)</td><td>\(file.rejects)</td>"
            html += "<td>\(Int(file.writeUnits.rounded()))</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    /// The exports made for this chain, as `ferry export` / `migrate` recorded them.
    static func exportsSection(_ exports: [RunReport.ExportRow]) -> String {
        var html = "<h2>Exports made</h2>\n"
        guard !exports.isEmpty else {
            return html
                + "<p id=\"exports\" class=\"muted\">none recorded (ferry migrate records the exports it makes; "
                + "so does ferry export --journal with the plan's journal)</p>\n"
        }
        html += "<table id=\"exports\"><thead><tr><th class=\"text\">export</th><th class=\"text\">kind</th>"
        html += "<th class=\"text\">to</th><th class=\"text\">requested</th><th>export time</th><th>items</th>"
        html += "<th>bytes billed</th></tr></thead><tbody>\n"
        for export in exports {
            let id = export.exportArn.split(separator: "/").last.map(String.init) ?? export.exportArn
            html += "<tr class=\"export\"><td class=\"text\">\(escape(id))</td>"
            html +=
                "<td class=\"text\">\(escape(export.kind ?? "—"))</td><td class=\"text\">\(escape(export.to ?? "—"))</td>"
            html += "<td class=\"text\">\(export.requestedAt.map(time) ?? "—")</td>"
            html +=
                "<td>\(export.seconds.map(duration) ?? (export.completedAt == nil && !export.applied ? "not seen complete" : "—"))</td>"
            html += "<td>\(export.itemCount.map(String.init) ?? "—")</td>"
            html += "<td>\(export.billedSizeBytes.map(String.init) ?? "—")</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    /// The recovery counted from the FULL export's request, when this journal shows ferry made it first.
    static func fullExportNote(_ rto: RunReport.RTO) -> String {
        guard let requested = rto.fullExportRequestedAt, let first = rto.firstStartAt else { return "" }
        let total = rto.wallSecondsFromFullExport.map(duration) ?? "not caught up"
        return "<p id=\"from-full-export\">From the FULL export's request (\(time(requested))): <b>\(total)</b>; "
            + "making it took \(duration(Double(first - requested) / 1000)) before the first write.</p>\n"
    }

    /// Where the RTO's time went.
    static func phasesTable(_ rto: RunReport.RTO) -> String {
        var html = "<h2>Recovery time by phase</h2>\n<table id=\"phases\"><thead><tr><th class=\"text\">phase</th>"
        html += "<th>time</th></tr></thead><tbody>\n"
        for phase in rto.phases {
            html += "<tr class=\"phase\"><td class=\"text\">\(escape(phase.name))</td>"
            html += "<td>\(duration(phase.seconds))</td></tr>\n"
        }
        return html + "</tbody></table>\n"
    }

    /// A line chart of `series` over time, with its axes' ranges written out.
    static func chart(
        id: String,
        title: String,
        series: [(style: String, name: String, points: [(Int64, Double)])],
        empty: String = "no progress ticks recorded",
        label: (Double) -> String = { String(Int($0.rounded())) }
    )
        -> String
    {
        let (width, height, left, bottom) = (800.0, 220.0, 60.0, 24.0)
        let all = series.flatMap(\.points)
        var svg = "<figure><figcaption>\(escape(title))</figcaption>\n"
        svg +=
            "<svg id=\"\(id)\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">\n"
        guard let first = all.map(\.0).min(), let last = all.map(\.0).max() else {
            return svg + "<text x=\"\(left)\" y=\"\(height / 2)\">\(escape(empty))</text></svg></figure>\n"
        }
        let top = max(1, all.map(\.1).max() ?? 1)
        let span = Double(max(1, last - first))
        func x(_ at: Int64) -> Double { left + (width - left - 10) * Double(at - first) / span }
        func y(_ value: Double) -> Double { (height - bottom) - (height - bottom - 10) * value / top }
        svg += "<line class=\"grid\" x1=\"\(left)\" y1=\"\(y(0))\" x2=\"\(width - 10)\" y2=\"\(y(0))\"/>"
        svg += "<line class=\"grid\" x1=\"\(left)\" y1=\"\(y(top))\" x2=\"\(width - 10)\" y2=\"\(y(top))\"/>\n"
        svg +=
            "<text x=\"2\" y=\"\(y(top) + 4)\">\(escape(label(top)))</text><text x=\"2\" y=\"\(y(0) + 4)\">0</text>\n"
        svg += "<text x=\"\(left)\" y=\"\(height - 6)\">\(time(first))</text>"
        svg += "<text x=\"\(width - 10)\" y=\"\(height - 6)\" text-anchor=\"end\">\(time(last))</text>\n"
        for (offset, line) in series.enumerated() {
            let points = line.points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
            svg += "<polyline class=\"\(line.style)\" fill=\"none\" stroke-width=\"1.5\" points=\"\(points)\"/>\n"
            svg +=
                "<text x=\"\(left + 10 + Double(offset) * 160)\" y=\"14\" class=\"\(line.style)\">— \(escape(line.name))</text>\n"
        }
        return svg + "</svg></figure>\n"
    }

    /// Seconds under 10 with a decimal (a small window takes a fraction of one), longer ones as the status shows them.
    static func duration(_ seconds: Double) -> String {
        seconds < 10 ? String(format: "%.1f s", max(0, seconds)) : PlanSummary.durationText(seconds)
    }

    static func time(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
