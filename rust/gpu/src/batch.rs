//! Recording work into one command encoder and submitting it in batches: at a readback, or
//! once `MAX_DISPATCHES` dispatches (or `MAX_STAGED_BYTES` of uploads) are pending. A submit
//! costs far more than a dispatch, so ops never submit one by one.
//!
//! Each dispatch's small parameter block (sizes, strides) goes into a slot of one arena buffer;
//! the arena's bytes are written with `Queue::write_buffer` just before the submit, which wgpu
//! orders ahead of that submit's commands and behind every earlier submit, so one arena serves
//! every batch. Uploads, by contrast, are copies recorded in the encoder from a staging buffer:
//! a `write_buffer` into a pooled buffer would land before earlier recorded dispatches that
//! still read the buffer's previous contents.

use std::sync::mpsc;

use crate::context::Gpu;
use crate::error::GpuError;
use crate::pool::{bucket_size, BufferPool, Usage};

/// Dispatches per submit, at most.
pub const MAX_DISPATCHES: usize = 64;
/// Upload bytes staged per submit before it is flushed, at most.
const MAX_STAGED_BYTES: u64 = 64 << 20;
/// Bytes of one parameter slot: 256 is a multiple of every adapter's storage offset alignment
/// and holds the largest parameter block (64 words).
pub(crate) const PARAM_SLOT: u64 = 256;
pub(crate) const PARAM_WORDS: usize = (PARAM_SLOT / 4) as usize;

/// Submission counters, for tests and reports of submits per step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchStats {
    pub submits: u64,
    pub dispatches: u64,
    /// Host-to-device copies recorded.
    pub uploads: u64,
    /// Device-to-host copies waited for.
    pub readbacks: u64,
}

pub(crate) struct Batch {
    encoder: Option<wgpu::CommandEncoder>,
    arena: wgpu::Buffer,
    params: Vec<u8>,
    pending_dispatches: usize,
    staged_bytes: u64,
    stats: BatchStats,
}

impl Batch {
    pub(crate) fn new(device: &wgpu::Device, limits: &wgpu::Limits) -> Batch {
        debug_assert!(PARAM_SLOT.is_multiple_of(limits.min_storage_buffer_offset_alignment as u64));
        let arena = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dlarray params"),
            size: PARAM_SLOT * MAX_DISPATCHES as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Batch { encoder: None, arena, params: Vec::new(), pending_dispatches: 0, staged_bytes: 0, stats: BatchStats::default() }
    }

    fn encoder(&mut self, device: &wgpu::Device) -> &mut wgpu::CommandEncoder {
        self.encoder.get_or_insert_with(|| device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("dlarray batch") }))
    }
}

/// A buffer bound to a kernel: the buffer and how many bytes of it the kernel may touch.
pub(crate) struct Binding<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub bytes: u64,
}

impl Gpu {
    fn lock_batch(&self) -> std::sync::MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one dispatch of `pipeline` with `params` in binding 0 and `bindings` in
    /// bindings 1.. (the output first, by convention of the kernels).
    pub(crate) fn record_dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        params: &[u32],
        bindings: &[Binding<'_>],
        groups: [u32; 3],
    ) -> Result<(), GpuError> {
        assert!(params.len() <= PARAM_WORDS, "a kernel's parameter block outgrew its slot");
        let mut batch = self.lock_batch();
        if batch.pending_dispatches == MAX_DISPATCHES {
            self.submit(&mut batch)?;
        }
        let slot = batch.pending_dispatches as u64;
        batch.params.resize((slot * PARAM_SLOT) as usize, 0);
        batch.params.extend(params.iter().flat_map(|w| w.to_ne_bytes()));
        batch.params.resize(((slot + 1) * PARAM_SLOT) as usize, 0);
        let layout = pipeline.get_bind_group_layout(0);
        let arena = batch.arena.clone();
        let device = &self.device;
        let encoder = batch.encoder(device);
        self.scoped(|| {
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 0,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &arena,
                    offset: slot * PARAM_SLOT,
                    size: wgpu::BufferSize::new(PARAM_SLOT),
                }),
            }];
            for (i, b) in bindings.iter().enumerate() {
                entries.push(wgpu::BindGroupEntry {
                    binding: i as u32 + 1,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: b.buffer,
                        offset: 0,
                        // Empty arrays never reach a dispatch, but a zero-size binding is invalid.
                        size: wgpu::BufferSize::new(b.bytes.max(4).next_multiple_of(4)),
                    }),
                });
            }
            let group = device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout: &layout, entries: &entries });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        })?;
        batch.pending_dispatches += 1;
        batch.stats.dispatches += 1;
        Ok(())
    }

    /// Records a copy of `bytes` into the start of `dst`, through a staging buffer.
    pub(crate) fn record_upload(&self, dst: &wgpu::Buffer, bytes: &[u8]) -> Result<(), GpuError> {
        let size = (bytes.len() as u64).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let mut batch = self.lock_batch();
        if batch.staged_bytes + size > MAX_STAGED_BYTES && batch.staged_bytes > 0 {
            self.submit(&mut batch)?;
        }
        let device = &self.device;
        let encoder = batch.encoder(device);
        self.scoped(|| -> Result<(), GpuError> {
            let staging = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("dlarray upload"),
                size,
                usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            });
            {
                let mut view = staging.slice(..).get_mapped_range_mut().map_err(|e| GpuError::Validation(e.to_string()))?;
                if bytes.len() as u64 == size {
                    view.copy_from_slice(bytes);
                } else {
                    let mut padded = bytes.to_vec();
                    padded.resize(size as usize, 0);
                    view.copy_from_slice(&padded);
                }
            }
            staging.unmap();
            encoder.copy_buffer_to_buffer(&staging, 0, dst, 0, size);
            Ok(())
        })??;
        batch.staged_bytes += size;
        batch.stats.uploads += 1;
        Ok(())
    }

    /// Records zero-filling the first `bytes` of `dst`.
    pub(crate) fn record_clear(&self, dst: &wgpu::Buffer, bytes: u64) -> Result<(), GpuError> {
        if bytes == 0 {
            return Ok(());
        }
        let mut batch = self.lock_batch();
        let device = &self.device;
        let encoder = batch.encoder(device);
        self.scoped(|| encoder.clear_buffer(dst, 0, Some(bytes.next_multiple_of(4))))
    }

    /// Submits everything recorded so far (nothing happens when nothing is pending).
    pub fn flush(&self) -> Result<(), GpuError> {
        if let Some(lost) = self.lost_error() {
            return Err(lost);
        }
        self.check_health()?;
        let mut batch = self.lock_batch();
        self.submit(&mut batch).map(|_| ())
    }

    /// Submits everything recorded so far and waits (with the engine's time limit) until the
    /// device has finished it: MATLAB's `wait(gpuDevice)`, for timing and for releasing work.
    pub fn synchronize(&self) -> Result<(), GpuError> {
        if let Some(lost) = self.lost_error() {
            return Err(lost);
        }
        let index = {
            let mut batch = self.lock_batch();
            self.submit(&mut batch)?
        };
        let timeout = self.wait_timeout();
        match self.device.poll(wgpu::PollType::Wait { submission_index: index, timeout: Some(timeout) }) {
            Ok(_) => self.check_health(),
            Err(wgpu::PollError::Timeout) => Err(GpuError::Timeout { millis: timeout.as_millis() as u64 }),
            Err(e) => Err(self.lost_error().unwrap_or_else(|| GpuError::DeviceLost(e.to_string()))),
        }
    }

    fn submit(&self, batch: &mut Batch) -> Result<Option<wgpu::SubmissionIndex>, GpuError> {
        let Some(encoder) = batch.encoder.take() else {
            return Ok(None);
        };
        let params = std::mem::take(&mut batch.params);
        batch.pending_dispatches = 0;
        batch.staged_bytes = 0;
        batch.stats.submits += 1;
        let index = self.scoped(|| {
            if !params.is_empty() {
                self.queue.write_buffer(&batch.arena, 0, &params);
            }
            self.queue.submit([encoder.finish()])
        })?;
        batch.params = params;
        batch.params.clear();
        Ok(Some(index))
    }

    /// Copies the first `bytes` of `src` to the host: records the copy into a pooled staging
    /// buffer, submits the batch, and waits once (with the engine's time limit) for the mapping.
    pub(crate) fn read_back(&self, src: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>, GpuError> {
        let size = bytes.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
        let bucket = bucket_size(size, self.limits.max_buffer_size);
        let staging = match self.pool.take(Usage::Readback, bucket) {
            Some(b) => b,
            None => {
                let b = self.scoped(|| BufferPool::create(&self.device, Usage::Readback, bucket))?;
                self.pool.note_allocation(bucket);
                b
            }
        };
        let result = self.copy_and_map(src, &staging, size);
        if result.is_ok() {
            self.pool.give_back(Usage::Readback, bucket, staging);
        } else {
            // A staging buffer whose mapping timed out or failed may still be pending: it is
            // dropped (wgpu ends the mapping), not reused.
            self.pool.discard(bucket);
        }
        result.map(|mut v| {
            v.truncate(bytes as usize);
            v
        })
    }

    fn copy_and_map(&self, src: &wgpu::Buffer, staging: &wgpu::Buffer, size: u64) -> Result<Vec<u8>, GpuError> {
        let index = {
            let mut batch = self.lock_batch();
            let device = &self.device;
            let encoder = batch.encoder(device);
            self.scoped(|| encoder.copy_buffer_to_buffer(src, 0, staging, 0, size))?;
            batch.stats.readbacks += 1;
            self.submit(&mut batch)?.expect("a batch with a recorded copy submits")
        };
        let (tx, rx) = mpsc::channel();
        self.scoped(|| staging.slice(..size).map_async(wgpu::MapMode::Read, move |r| drop(tx.send(r))))?;
        let timeout = self.wait_timeout();
        match self.device.poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: Some(timeout) }) {
            Ok(_) => {}
            Err(wgpu::PollError::Timeout) => return Err(GpuError::Timeout { millis: timeout.as_millis() as u64 }),
            // The submission never reached the device: it was lost or destroyed.
            Err(e) => return Err(self.lost_error().unwrap_or_else(|| GpuError::DeviceLost(e.to_string()))),
        }
        self.check_health()?;
        // The wait returns once the copy is done; the mapping's callback may still be running
        // on another thread that polled the device at the same time.
        match rx.recv_timeout(timeout) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(self.lost_error().unwrap_or_else(|| GpuError::DeviceLost(format!("mapping the readback buffer failed: {e}"))));
            }
            Err(_) => return Err(GpuError::Timeout { millis: timeout.as_millis() as u64 }),
        }
        let out = {
            let view = staging.slice(..size).get_mapped_range().map_err(|e| GpuError::Validation(e.to_string()))?;
            view.to_vec()
        };
        staging.unmap();
        Ok(out)
    }

    pub(crate) fn batch_stats(&self) -> BatchStats {
        self.lock_batch().stats
    }
}
