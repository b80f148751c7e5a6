package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures an S3 store. SecretKey never prints: String,
// GoString and LogValue leave it out.
type S3Config struct {
	// Endpoint is host[:port], without a scheme ("s3.example.com",
	// "127.0.0.1:7070").
	Endpoint string
	Bucket   string
	// AccessKey and SecretKey are the credentials (static V4 signature).
	AccessKey string
	SecretKey string
	// Region is the bucket's region ("" lets the server say).
	Region string
	// TLS selects https.
	TLS bool
	// CreateBucket makes the bucket at NewS3 if it does not exist.
	CreateBucket bool
	// Transport may be nil (minio-go's default).
	Transport http.RoundTripper
}

// String describes the configuration without the secret key.
func (c S3Config) String() string {
	scheme := "http"
	if c.TLS {
		scheme = "https"
	}
	return fmt.Sprintf("s3 %s://%s/%s (access key %q, region %q)", scheme, c.Endpoint, c.Bucket, c.AccessKey, c.Region)
}

// GoString is String, so %#v does not print the secret key either.
func (c S3Config) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without the secret key.
func (c S3Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// S3 is a Store in a bucket of an S3-compatible object store (minio-go).
// Objects are written with one PUT (a multipart upload above minio-go's
// part size), which S3 makes visible atomically.
type S3 struct {
	client *minio.Client
	bucket string
	where  string // endpoint/bucket, for errors
}

var _ Store = (*S3)(nil)

// NewS3 connects to the store of cfg and checks that the bucket exists,
// creating it if cfg.CreateBucket.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("blob: s3: endpoint is empty")
	case strings.Contains(cfg.Endpoint, "://"):
		return nil, fmt.Errorf("blob: s3: endpoint %q: give host[:port] without a scheme (TLS selects https)", cfg.Endpoint)
	case cfg.Bucket == "":
		return nil, errors.New("blob: s3: bucket is empty")
	case cfg.AccessKey == "":
		return nil, errors.New("blob: s3: access key is empty")
	case cfg.SecretKey == "":
		return nil, errors.New("blob: s3: secret key is empty")
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.TLS,
		Region:    cfg.Region,
		Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %s: %w", cfg.Endpoint, err)
	}
	s := &S3{client: client, bucket: cfg.Bucket, where: cfg.Endpoint + "/" + cfg.Bucket}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: s3: %s: bucket exists: %w", s.where, err)
	}
	if !ok {
		if !cfg.CreateBucket {
			return nil, fmt.Errorf("blob: s3: %s: bucket does not exist (create it, or set create bucket)", s.where)
		}
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil {
			code := minio.ToErrorResponse(err).Code
			if code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return nil, fmt.Errorf("blob: s3: %s: make bucket: %w", s.where, err)
			}
		}
	}
	return s, nil
}

func notFound(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NotFound":
		return true
	}
	return false
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("blob: s3: put %s: size %d: %w", key, size, ErrSize)
	}
	// The body is limited to size bytes (count them to notice a reader
	// with fewer: a short body fails the PUT, so nothing is stored); one
	// more byte read afterwards notices a reader with more.
	cr := &countingReader{r: io.LimitReader(r, size)}
	_, err := s.client.PutObject(ctx, s.bucket, key, cr, size, minio.PutObjectOptions{
		ContentType:    "application/octet-stream",
		SendContentMd5: false,
	})
	if err != nil {
		if cr.n < size {
			return fmt.Errorf("blob: s3: put %s: read %d bytes, want %d: %w", key, cr.n, size, ErrSize)
		}
		return fmt.Errorf("blob: s3: put %s in %s: %w", key, s.where, err)
	}
	var one [1]byte
	if n, _ := io.ReadFull(r, one[:]); n > 0 {
		// The reader had more than size: the stored object is not what
		// the caller meant, so remove it again.
		if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
			return fmt.Errorf("blob: s3: put %s: reader longer than %d bytes (%w), and removing the object failed: %v", key, size, ErrSize, err)
		}
		return fmt.Errorf("blob: s3: put %s: reader longer than %d bytes: %w", key, size, ErrSize)
	}
	return nil
}

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("blob: s3: get %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("blob: s3: get %s from %s: %w", key, s.where, err)
	}
	// GetObject is lazy: Stat makes the request, so a missing key fails
	// here and not at the caller's first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		if notFound(err) {
			return nil, fmt.Errorf("blob: s3: get %s: %w", key, ErrNotFound)
		}
		return nil, fmt.Errorf("blob: s3: get %s from %s: %w", key, s.where, err)
	}
	return obj, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, err
	}
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return Info{}, fmt.Errorf("blob: s3: stat %s: %w", key, ErrNotFound)
		}
		return Info{}, fmt.Errorf("blob: s3: stat %s in %s: %w", key, s.where, err)
	}
	return Info{Key: key, Size: st.Size, ModTime: st.LastModified}, nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && !notFound(err) {
		return fmt.Errorf("blob: s3: delete %s in %s: %w", key, s.where, err)
	}
	return nil
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ValidPrefix(prefix); err != nil {
		return nil, err
	}
	var keys []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("blob: s3: list %q in %s: %w", prefix, s.where, o.Err)
		}
		if strings.HasSuffix(o.Key, "/") {
			continue // a directory marker some servers list
		}
		keys = append(keys, o.Key)
	}
	sort.Strings(keys)
	return keys, nil
}
