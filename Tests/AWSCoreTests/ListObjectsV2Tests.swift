import Testing

@testable import AWSCore

struct ListObjectsV2Tests {
    @Test func queryMatchesBotocore() {
        // botocore: list-type=2&prefix=AWSDynamoDB%2Fx%20y&max-keys=5&continuation-token=a%2Bb%2Fc%3D&encoding-type=url
        #expect(
            ListObjectsV2.queryString(prefix: "AWSDynamoDB/x y", continuationToken: "a+b/c=", maxKeys: 5)
                == "continuation-token=a%2Bb%2Fc%3D&encoding-type=url&list-type=2&max-keys=5&prefix=AWSDynamoDB%2Fx%20y"
        )
        #expect(
            ListObjectsV2.queryString(prefix: nil, continuationToken: nil, maxKeys: nil, urlEncodedKeys: false)
                == "list-type=2"
        )
    }

    static let page1 = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
          <Name>exports</Name><Prefix>AWSDynamoDB/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
          <IsTruncated>true</IsTruncated>
          <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
          <Contents>
            <Key>AWSDynamoDB/0170-abc/manifest-summary.json</Key>
            <LastModified>2024-05-01T12:00:00.000Z</LastModified>
            <ETag>&quot;8e2f0c3b1a&quot;</ETag>
            <Size>812</Size>
            <StorageClass>STANDARD</StorageClass>
          </Contents>
          <!-- a comment -->
          <Contents>
            <Key>AWSDynamoDB/0170-abc/data/a&amp;b &lt;c&gt; &#x00E9;&#233;&apos;<![CDATA[<raw>]]>.json.gz</Key>
            <LastModified>2024-05-01T12:00:01.000Z</LastModified>
            <ETag>"d41d8cd98f00b204e9800998ecf8427e-3"</ETag>
            <Size>5368709120</Size>
          </Contents>
        </ListBucketResult>
        """

    @Test func parsesPageWithEntities() throws {
        let page = try ListObjectsV2.parse(Array(Self.page1.utf8))
        #expect(page.isTruncated)
        #expect(page.nextContinuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        #expect(page.keyCount == 2)
        #expect(page.prefix == "AWSDynamoDB/")
        #expect(
            page.objects == [
                S3ObjectSummary(
                    key: "AWSDynamoDB/0170-abc/manifest-summary.json",
                    size: 812,
                    eTag: "8e2f0c3b1a",
                    lastModified: "2024-05-01T12:00:00.000Z"
                ),
                S3ObjectSummary(
                    key: "AWSDynamoDB/0170-abc/data/a&b <c> éé'<raw>.json.gz",
                    size: 5_368_709_120,
                    eTag: "d41d8cd98f00b204e9800998ecf8427e-3",
                    lastModified: "2024-05-01T12:00:01.000Z"
                ),
            ]
        )
    }

    @Test func lastPageAndURLEncodedKeys() throws {
        let xml = """
            <ListBucketResult><Prefix>AWSDynamoDB%2F</Prefix><KeyCount>1</KeyCount><EncodingType>url</EncodingType>
            <IsTruncated>false</IsTruncated>
            <Contents><Key>AWSDynamoDB/data/a+b%2Bc%0A.gz</Key><Size>0</Size></Contents>
            <CommonPrefixes><Prefix>AWSDynamoDB/x+y/</Prefix></CommonPrefixes></ListBucketResult>
            """
        let page = try ListObjectsV2.parse(Array(xml.utf8))
        #expect(!page.isTruncated)
        #expect(page.nextContinuationToken == nil)
        #expect(page.objects.map(\.key) == ["AWSDynamoDB/data/a b+c\n.gz"])
        #expect(page.objects[0].eTag == nil)
        #expect(page.commonPrefixes == ["AWSDynamoDB/x y/"])
        #expect(page.prefix == "AWSDynamoDB/")
    }

    @Test func emptyBucket() throws {
        let page = try ListObjectsV2.parse(
            Array("<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>".utf8)
        )
        #expect(page.objects.isEmpty && !page.isTruncated && page.keyCount == 0)
    }

    @Test(arguments: [
        ("", "malformed XML at byte 0: expected root element"),
        ("<Error><Code>AccessDenied</Code></Error>", "root element is <Error>, expected <ListBucketResult>"),
        (
            "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
            "<IsTruncated> is true but <NextContinuationToken> is missing"
        ),
        (
            "<ListBucketResult><Contents><Key>k</Key><Size>x</Size></Contents></ListBucketResult>",
            "missing or invalid <Size> for a key"
        ),
        ("<ListBucketResult><Contents><Key>k</Key>", "malformed XML at byte 40: missing </Contents>"),
        ("<ListBucketResult><Key>&bogus;</Key></ListBucketResult>", "malformed XML at byte 23: unknown entity &bogus;"),
        ("<ListBucketResult></Other>", "malformed XML at byte 25: mismatched </Other>, expected </ListBucketResult>"),
    ])
    func rejectsBadBodies(xml: String, reason: String) {
        #expect(throws: S3ResponseParseError(reason: reason)) { try ListObjectsV2.parse(Array(xml.utf8)) }
    }
}
