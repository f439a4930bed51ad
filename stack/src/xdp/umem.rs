//! The UMEM: the memory region shared with the kernel, cut into equal frames.
//!
//! In aligned mode (the default) every descriptor address points into one frame of
//! `frame_size` bytes; the kernel puts received data `XDP_PACKET_HEADROOM` (256) bytes into
//! the frame, and we build outgoing frames at the same offset. Kernel docs, "UMEM":
//! <https://docs.kernel.org/networking/af_xdp.html#umem>.

use std::num::NonZeroU32;

use xsk_rs::config::{FrameSize, QueueSize, UmemConfig};
use xsk_rs::FrameDesc;

use super::frame_pool::FrameId;
use super::XdpError;

/// Headroom the kernel reserves at the start of every frame (`XDP_PACKET_HEADROOM`).
const XDP_PACKET_HEADROOM: u32 = 256;

/// The geometry of a UMEM: how descriptor addresses map to frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UmemLayout {
    /// Bytes per frame, a power of two (2048 or 4096).
    pub frame_size: u32,
    pub frame_count: u32,
}

impl UmemLayout {
    /// Checks the frame size is a power of two between 2048 and 4096 (the kernel's
    /// aligned-mode limits) and the count is not zero.
    pub fn new(frame_size: u32, frame_count: u32) -> Result<UmemLayout, XdpError> {
        if !frame_size.is_power_of_two() || !(2048..=4096).contains(&frame_size) {
            return Err(XdpError::Config(format!("frame size {frame_size} must be 2048 or 4096")));
        }
        if frame_count == 0 {
            return Err(XdpError::Config("the UMEM needs at least one frame".into()));
        }
        Ok(UmemLayout { frame_size, frame_count })
    }

    /// The frame a descriptor address points into, if inside the UMEM.
    pub fn frame_of(&self, addr: u64) -> Option<FrameId> {
        let index = addr / u64::from(self.frame_size);
        (index < u64::from(self.frame_count)).then_some(FrameId(index as u32))
    }

    /// Where a frame's packet data starts (after the kernel's headroom).
    pub fn data_addr(&self, frame: FrameId) -> u64 {
        u64::from(frame.0) * u64::from(self.frame_size) + u64::from(XDP_PACKET_HEADROOM)
    }

    /// The longest frame a descriptor can hold.
    pub fn data_capacity(&self) -> usize {
        (self.frame_size - XDP_PACKET_HEADROOM) as usize
    }
}

/// The kernel UMEM of one socket with a descriptor per frame.
pub(crate) struct Umem {
    layout: UmemLayout,
    umem: xsk_rs::Umem,
    /// `descs[i]` describes frame `i` (address of its data, length zero).
    descs: Vec<FrameDesc>,
}

impl Umem {
    /// Maps `layout.frame_count` frames and registers them with the kernel.
    pub(crate) fn new(layout: UmemLayout, fill_ring: u32, comp_ring: u32) -> Result<Umem, XdpError> {
        let config = UmemConfig::builder()
            .frame_size(FrameSize::new(layout.frame_size).map_err(|e| XdpError::Config(e.to_string()))?)
            .fill_queue_size(queue_size(fill_ring, "fill ring")?)
            .comp_queue_size(queue_size(comp_ring, "completion ring")?)
            .frame_headroom(0)
            .build()
            .map_err(|e| XdpError::Config(e.to_string()))?;
        let count =
            NonZeroU32::new(layout.frame_count).ok_or_else(|| XdpError::Config("no frames".into()))?;
        let (umem, descs) = xsk_rs::Umem::new(config, count, false).map_err(|e| XdpError::Umem {
            reason: e.to_string(),
            source: std::error::Error::source(&e)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .and_then(std::io::Error::raw_os_error)
                .map_or_else(|| std::io::Error::other("no OS error"), std::io::Error::from_raw_os_error),
        })?;
        debug_assert!(descs
            .iter()
            .enumerate()
            .all(|(i, d)| d.addr() as u64 == layout.data_addr(FrameId(i as u32))));
        Ok(Umem { layout, umem, descs })
    }

    pub(crate) fn layout(&self) -> UmemLayout {
        self.layout
    }

    pub(crate) fn inner(&self) -> &xsk_rs::Umem {
        &self.umem
    }

    /// The descriptor of `frame`'s data, with length zero.
    pub(crate) fn desc(&self, frame: FrameId) -> FrameDesc {
        self.descs[frame.0 as usize]
    }

    /// The bytes of a received frame, to parse and rewrite in place.
    ///
    /// # Safety
    /// `desc` must come from this UMEM's RX ring, and its frame must be owned by the caller
    /// (accounted `Rx` in the frame pool) for as long as the slice lives.
    pub(crate) unsafe fn received<'a>(&'a self, desc: &'a mut FrameDesc) -> &'a mut [u8] {
        // SAFETY: the caller owns the frame, so neither the kernel nor another slice
        // touches it; the length came from the kernel and lies inside the frame.
        let mut data = unsafe { self.umem.data_mut(desc) };
        let len = data.len();
        // `contents_mut` borrows `data`; rebuild a slice of the UMEM's lifetime from it.
        let ptr = data.contents_mut().as_mut_ptr();
        // SAFETY: `ptr..ptr+len` is the received frame inside the UMEM mapping, which
        // lives as long as `self`; the caller's ownership makes the borrow exclusive.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }

    /// Sets `desc`'s length to `len` and returns its data to fill.
    ///
    /// # Safety
    /// The frame must be owned by the caller (accounted `Tx`, not yet on the TX ring) for as
    /// long as the slice lives.
    pub(crate) unsafe fn to_send<'a>(&'a self, desc: &'a mut FrameDesc, len: usize) -> &'a mut [u8] {
        // SAFETY: the caller owns the frame; `set_pos` clamps to the frame's capacity.
        let mut data = unsafe { self.umem.data_mut(desc) };
        data.cursor().set_pos(len);
        let len = data.len();
        let ptr = data.contents_mut().as_mut_ptr();
        // SAFETY: as in `received`.
        unsafe { std::slice::from_raw_parts_mut(ptr, len) }
    }
}

fn queue_size(size: u32, what: &str) -> Result<QueueSize, XdpError> {
    QueueSize::new(size).map_err(|_| XdpError::Config(format!("{what} size {size} must be a power of two")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_map_to_frames() {
        let layout = UmemLayout::new(2048, 4).unwrap();
        assert_eq!(layout.frame_of(0), Some(FrameId(0)));
        assert_eq!(layout.frame_of(256), Some(FrameId(0)));
        assert_eq!(layout.frame_of(2047), Some(FrameId(0)));
        assert_eq!(layout.frame_of(2048 + 256), Some(FrameId(1)));
        assert_eq!(layout.frame_of(4 * 2048), None);
        assert_eq!(layout.data_addr(FrameId(3)), 3 * 2048 + 256);
        assert_eq!(layout.data_capacity(), 1792);
    }

    #[test]
    fn bad_geometry_is_refused() {
        assert!(UmemLayout::new(3000, 4).is_err());
        assert!(UmemLayout::new(1024, 4).is_err());
        assert!(UmemLayout::new(2048, 0).is_err());
        assert!(UmemLayout::new(4096, 1).is_ok());
    }
}
