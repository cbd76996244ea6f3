package client

import (
	"google.golang.org/grpc"

	batchv1 "skiff.dev/api/batch/v1"
)

// BatchV1 is the batch/v1 API group.
func (c *Client) BatchV1() BatchV1 { return BatchV1{conn: c.conn} }

// BatchV1 is the batch/v1 API group.
type BatchV1 struct{ conn *grpc.ClientConn }

// Jobs are the Job objects in a namespace ("" lists and watches every namespace).
func (g BatchV1) Jobs(namespace string) *Resource[*batchv1.Job, *batchv1.JobList] {
	return forConn[*batchv1.Job, *batchv1.JobList](g.conn, namespace)
}

// CronJobs are the CronJob objects in a namespace ("" lists and watches every namespace).
func (g BatchV1) CronJobs(namespace string) *Resource[*batchv1.CronJob, *batchv1.CronJobList] {
	return forConn[*batchv1.CronJob, *batchv1.CronJobList](g.conn, namespace)
}
