import AWSClient
import AWSCore
import Foundation
import Synchronization

/// A transport that plays back scripted answers and records what was sent. It fails the test loudly when a test
/// sends more requests than it scripted.
final class ScriptedTransport: HTTPTransport {
    enum Step: Sendable {
        case respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = [])
        case fail(TransportErrorKind)
        /// Streams `chunks`, then breaks the connection.
        case streamThenBreak(headers: [(String, String)], chunks: [[UInt8]])
    }

    private let steps: Mutex<[Step]>
    private let sent = Mutex<[HTTPRequestData]>([])

    init(_ steps: [Step]) { self.steps = Mutex(steps) }

    var requests: [HTTPRequestData] { sent.withLock { $0 } }

    private func next(_ request: HTTPRequestData) -> Step {
        sent.withLock { $0.append(request) }
        return steps.withLock { steps in
            guard !steps.isEmpty else {
                return .respond(
                    status: 599,
                    body: Array("ScriptedTransport: no step left for \(request.method) \(request.path)".utf8)
                )
            }
            return steps.removeFirst()
        }
    }

    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        switch next(request) {
        case let .respond(status, headers, body):
            return HTTPResponseData(status: status, headers: headers.map { ($0.0, $0.1) }, body: body)
        case let .fail(kind): throw TransportError(kind: kind, detail: "scripted")
        case .streamThenBreak: throw TransportError(kind: .connectionReset, detail: "scripted")
        }
    }

    func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData {
        switch next(request) {
        case let .respond(status, headers, body):
            let response = HTTPResponseData(status: status, headers: headers.map { ($0.0, $0.1) }, body: [])
            guard (200..<300).contains(status) else {
                return HTTPResponseData(status: status, headers: response.headers, body: body)
            }
            try onHead(response)
            try await onChunk(body)
            return response
        case let .fail(kind): throw TransportError(kind: kind, detail: "scripted")
        case let .streamThenBreak(headers, chunks):
            try onHead(HTTPResponseData(status: 200, headers: headers.map { ($0.0, $0.1) }, body: []))
            for chunk in chunks { try await onChunk(chunk) }
            throw TransportError(kind: .connectionReset, detail: "scripted break")
        }
    }
}
